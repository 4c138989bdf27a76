// vessel --config: the TOML file's keys become the flags' texts, and every
// unknown key, wrong type and bad value is an error naming the key.
#include "vm/config_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace vessel {
namespace {

Expected<ConfigFileValues> parse(std::string_view text) {
  return parse_config_file(text, "vm.toml");
}

// The error for `text`, or a note that it parsed.
std::string error_of(std::string_view text) {
  auto r = parse(text);
  return r.ok() ? "<parsed>" : r.error().message;
}

TEST(ConfigFile, EveryKeyBecomesItsFlagsText) {
  auto r = parse(R"(
kernel = "vmlinuz"
initrd = "initrd.gz"
cmdline = "console=ttyS0 quiet"
memory = "1G"
cpus = 2
accel = "soft"
jit = "off"
kernel_format = "bzimage"
load_addr = 0x8000
console = "virtio"
api_socket = "/tmp/vm.sock"
uuid = "12345678-9abc-4def-8123-456789abcdef"
rng = true
debug_exit = false
reboot = true

[balloon]
size = "256M"
deflate_on_oom = true
free_page_reporting = false
stats_period = 2

[[disk]]
path = "root.qcow2"
format = "qcow2"
cache = "none"
aio = "io_uring"
serial = "root"

[[disk]]
path = "data.img"
readonly = true

[[net]]
mode = "user"
hostfwd = ["tcp::2222-:22", "udp:127.0.0.1:5353-:53"]
mtu = 1500

[[net]]
tap = "tap0"
mac = "52:54:00:00:00:02"
)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->kernel, "vmlinuz");
  EXPECT_EQ(r->initrd, "initrd.gz");
  EXPECT_EQ(r->cmdline, "console=ttyS0 quiet");
  EXPECT_EQ(r->memory, "1G");
  EXPECT_EQ(r->cpus, 2);
  EXPECT_EQ(r->accel, "soft");
  EXPECT_EQ(r->jit, "off");
  EXPECT_EQ(r->kernel_format, "bzimage");
  EXPECT_EQ(r->load_addr, "32768");
  EXPECT_EQ(r->console, "virtio");
  EXPECT_EQ(r->api_socket, "/tmp/vm.sock");
  EXPECT_EQ(r->uuid, "12345678-9abc-4def-8123-456789abcdef");
  EXPECT_EQ(r->rng, true);
  EXPECT_EQ(r->debug_exit, false);
  EXPECT_EQ(r->reboot, true);
  // (toml++ gives a table's keys in name order)
  EXPECT_EQ(r->balloon, "deflate_on_oom=on,free_page_reporting=off,size=256M,stats_period=2");
  ASSERT_TRUE(r->disks);
  EXPECT_EQ(*r->disks,
            (std::vector<std::string>{"root.qcow2,aio=io_uring,cache=none,format=qcow2,serial=root",
                                      "data.img,readonly=on"}));
  ASSERT_TRUE(r->nets);
  EXPECT_EQ(*r->nets, (std::vector<std::string>{
                          "user,hostfwd=tcp::2222-:22,hostfwd=udp:127.0.0.1:5353-:53,mtu=1500",
                          "tap=tap0,mac=52:54:00:00:00:02"}));
}

TEST(ConfigFile, AbsentKeysStayUnsetAndSmallFormsWork) {
  auto r = parse("memory = 384\nballoon = true\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->memory, "384M");  // an integer is MiB, as a bare --memory number
  EXPECT_EQ(r->balloon, "");     // every default
  EXPECT_FALSE(r->kernel);
  EXPECT_FALSE(r->cpus);
  EXPECT_FALSE(r->rng);
  EXPECT_FALSE(r->disks);
  EXPECT_FALSE(r->nets);
  auto none = parse("balloon = false\n");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->balloon);
  auto empty = parse("");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->memory);
}

TEST(ConfigFile, ErrorsNameTheKey) {
  struct Case {
    std::string text;
    std::string says;  // a piece of the message
  };
  const std::vector<Case> cases = {
      {"memroy = \"1G\"", "vm.toml: memroy: unknown key"},
      {"cpus = \"two\"", "vm.toml: cpus: expected an integer, not a string"},
      {"cpus = 0", "vm.toml: cpus: 0 is not from 1 to 255"},
      {"memory = \"lots\"", "vm.toml: memory:"},
      {"memory = -5", "vm.toml: memory: a size cannot be negative"},
      {"memory = 1.5", "vm.toml: memory: expected a size"},
      {"rng = \"yes\"", "vm.toml: rng: expected true or false"},
      {"accel = \"turbo\"", "vm.toml: accel:"},
      {"jit = \"fast\"", "vm.toml: jit: --jit takes on or off (not 'fast')"},
      {"console = \"vga\"", "vm.toml: console: 'vga' is not one of: serial, virtio"},
      {"uuid = \"not-a-uuid\"", "vm.toml: uuid:"},
      {"kernel_format = \"pe\"", "vm.toml: kernel_format:"},
      {"load_addr = \"here\"", "vm.toml: load_addr:"},
      {"kernel = 5", "vm.toml: kernel: expected a string, not an integer"},
      {"[balloon]\nsize = \"-1\"", "vm.toml: balloon.size:"},
      {"[balloon]\nstats_period = 99999", "vm.toml: balloon:"},
      {"[balloon]\nsizee = 1", "vm.toml: balloon.sizee: unknown key"},
      {"balloon = 3", "vm.toml: balloon: expected a table"},
      {"disk = \"a.img\"", "vm.toml: disk: expected an array"},
      {"[[disk]]\nreadonly = true", "vm.toml: disk[0]: has no path"},
      {"[[disk]]\npath = \"a.img\"\n[[disk]]\npath = \"b.img\"\ncahce = \"none\"",
       "vm.toml: disk[1].cahce: unknown key"},
      {"[[disk]]\npath = \"a.img\"\ncache = \"fast\"", "vm.toml: disk[0]:"},
      {"[[disk]]\npath = \"a,b.img\"", "vm.toml: disk[0].path: 'a,b.img' has a ','"},
      {"[[disk]]\npath = \"a.img\"\nreadonly = \"on\"", "vm.toml: disk[0].readonly: expected true"},
      {"[[net]]\nmode = \"bridge\"", "vm.toml: net[0].mode: 'bridge' is not one of: user, tap"},
      {"[[net]]\nmode = \"tap\"", "vm.toml: net[0]: mode \"tap\" needs tap"},
      {"[[net]]\ntap = \"tap0\"\nhostfwd = [\"tcp::1-:2\"]", "vm.toml: net[0]: hostfwd is for"},
      {"[[net]]\nhostfwd = [\"nonsense\"]", "vm.toml: net[0]:"},
      {"[[net]]\nhostfwd = [22]", "vm.toml: net[0].hostfwd[0]: expected a string"},
      {"[[net]]\nmac = \"zz\"", "vm.toml: net[0]:"},
      {"memory = \"1G\"\ncpus = = 2", "vm.toml:2:"},  // TOML syntax: line and column
  };
  for (const Case& c : cases) {
    std::string message = error_of(c.text);
    EXPECT_NE(message.find(c.says), std::string::npos)
        << "config: " << c.text << "\nmessage: " << message << "\nwanted: " << c.says;
  }
}

TEST(ConfigFile, LoadsAFileAndSaysWhenItCannot) {
  std::string path = ::testing::TempDir() + "vessel_config_test.toml";
  {
    std::ofstream f(path);
    f << "kernel = \"k\"\ncpus = 3\n";
  }
  auto r = load_config_file(path);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->kernel, "k");
  EXPECT_EQ(r->cpus, 3);
  std::remove(path.c_str());
  auto missing = load_config_file(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("cannot read the config file"), std::string::npos);
  EXPECT_NE(missing.error().message.find(path), std::string::npos);
}

}  // namespace
}  // namespace vessel

// vessel: run one VM. Parses flags, picks the accelerator, builds the VM and
// runs it until the guest powers off.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "accel/select.h"
#include "base/log.h"
#include "base/size.h"
#include "base/uuid.h"
#include "block/disk_options.h"
#include "boot/loader.h"
#include "net/net_options.h"
#include "virtio/balloon_options.h"
#include "vm/config_file.h"
#include "vm/vm.h"

namespace vessel {
namespace {

struct Options {
  std::string kernel, initrd, cmdline, memory = "256M", accel = "auto", kernel_format = "auto",
                                       jit = "on";
  std::string load_addr = "0x7c00", console = "serial", api_socket, uuid, config;
  std::vector<std::string> disks;
  std::vector<std::string> nets;
  std::optional<std::string> balloon;  // --balloon given (maybe with no value)
  bool jit_given = false;              // --jit given (it then overrides VESSEL_JIT)
  int cpus = 1;
  bool debug_exit = false, rng = false, reboot = false, probe_accel = false, verbose = false,
       quiet = false;
};

Expected<VmConfig> make_config(const Options& o) {
  VmConfig c;
  if (o.kernel.empty()) return make_error("no kernel given (use --kernel PATH)");
  c.boot.kernel_path = o.kernel;
  c.boot.initrd_path = o.initrd;
  c.boot.cmdline = o.cmdline;
  auto mem = parse_size(o.memory, 1ull << 20);
  if (!mem.ok()) return with_context(mem.error(), "--memory");
  c.memory_bytes = *mem;
  auto format = parse_kernel_format(o.kernel_format);
  if (!format.ok()) return with_context(format.error(), "--kernel-format");
  c.boot.format = *format;
  auto addr = parse_u64(o.load_addr);
  if (!addr.ok()) return with_context(addr.error(), "--load-addr");
  c.boot.flat_load_addr = *addr;
  c.cpus = o.cpus;
  // One UUID for the whole run, so that a --reboot keeps it.
  auto uuid = o.uuid.empty() ? random_uuid() : parse_uuid(o.uuid);
  if (!uuid.ok()) return with_context(uuid.error(), "--uuid");
  c.boot.uuid = *uuid;
  c.debug_exit = o.debug_exit;
  c.rng = o.rng;
  c.api_socket = o.api_socket;
  if (o.console == "serial") {
    c.console = ConsoleDevice::kSerial;
  } else if (o.console == "virtio") {
    c.console = ConsoleDevice::kVirtio;
  } else {
    return make_error("--console '{}' is not one of: serial, virtio", o.console);
  }
  for (const std::string& d : o.disks) {
    auto disk = parse_disk_options(d);
    if (!disk.ok()) return disk.error();
    c.disks.push_back(std::move(*disk));
  }
  if (o.balloon) {
    auto balloon = parse_balloon_options(*o.balloon);
    if (!balloon.ok()) return balloon.error();
    c.balloon = *balloon;
  }
  for (size_t i = 0; i < o.nets.size(); i++) {
    auto net = parse_net_options(o.nets[i]);
    if (!net.ok()) return with_context(net.error(), "--net");
    // Several devices with the default MAC get consecutive addresses.
    if (i > 0 && net->mac == NetOptions{}.mac) net->mac[5] = static_cast<uint8_t>(net->mac[5] + i);
    c.nets.push_back(std::move(*net));
  }
  return c;
}

int fail(const Error& e) {
  log_error("{}", e.message);
  return 1;
}

// Takes the config file's value for each flag the command line did not give.
void merge_config_file(const ConfigFileValues& f, const CLI::App& app, Options& o) {
  auto take = [&app](const char* flag, const auto& from, auto& to) {
    if (from && app.count(flag) == 0) to = *from;
  };
  take("--kernel", f.kernel, o.kernel);
  take("--initrd", f.initrd, o.initrd);
  take("--cmdline", f.cmdline, o.cmdline);
  take("--memory", f.memory, o.memory);
  take("--accel", f.accel, o.accel);
  take("--jit", f.jit, o.jit);
  if (f.jit) o.jit_given = true;
  take("--kernel-format", f.kernel_format, o.kernel_format);
  take("--load-addr", f.load_addr, o.load_addr);
  take("--console", f.console, o.console);
  take("--api-socket", f.api_socket, o.api_socket);
  take("--uuid", f.uuid, o.uuid);
  take("--cpus", f.cpus, o.cpus);
  take("--debug-exit", f.debug_exit, o.debug_exit);
  take("--rng", f.rng, o.rng);
  take("--reboot", f.reboot, o.reboot);
  take("--disk", f.disks, o.disks);
  take("--net", f.nets, o.nets);
  if (f.balloon && app.count("--balloon") == 0) o.balloon = f.balloon;
}

int run(const Options& o) {
  if (o.probe_accel) {
    for (const std::string& line : describe_accelerators()) std::printf("%s\n", line.c_str());
    return 0;
  }
  auto config = make_config(o);
  if (!config.ok()) return fail(config.error());
  auto choice = parse_accel_choice(o.accel);
  if (!choice.ok()) return fail(choice.error());
  auto jit_on = parse_jit_switch(o.jit);
  if (!jit_on.ok()) return fail(jit_on.error());
  cpu::JitOptions jit = cpu::JitOptions::from_env();
  if (o.jit_given) jit.enabled = *jit_on;

  for (bool first = true;; first = false) {
    auto selection = select_accelerator(*choice, jit);
    if (!selection.ok()) return fail(selection.error());
    if (first && !selection->why.empty()) log_warn("{}", selection->why);
    auto vm = Vm::create(*config, std::move(selection->accel));
    if (!vm.ok()) return fail(vm.error());
    VmOutcome outcome = (*vm)->run();
    vm->reset();
    if (outcome.kind == VmOutcome::Kind::kReset && o.reboot) {
      log_info("rebooting");
      continue;
    }
    if (outcome.kind == VmOutcome::Kind::kError) {
      log_error("{}", outcome.message);
    } else if (!outcome.message.empty() && outcome.kind != VmOutcome::Kind::kDebugExit) {
      log_warn("{}", outcome.message);
    } else if (!outcome.message.empty()) {
      log_info("{}", outcome.message);
    }
    return outcome.exit_status;
  }
}

}  // namespace
}  // namespace vessel

int main(int argc, char** argv) {
  using vessel::Options;
  Options o;
  CLI::App app{
      "vessel: a virtual machine monitor for x86-64 guests (KVM or a built-in software CPU)",
      "vessel"};
  app.set_version_flag("--version", std::string("vessel ") + VESSEL_VERSION);
  app.add_option("--config", o.config,
                 "a TOML file describing the VM (docs/config.md): its keys are these flags' "
                 "names; flags given here override it (--disk and --net replace its lists)");
  app.add_option("--kernel", o.kernel,
                 "kernel to boot: bzImage, multiboot, ELF with a PVH note, or flat binary");
  app.add_option("--initrd", o.initrd, "initial ramdisk");
  app.add_option("--cmdline", o.cmdline, "kernel command line");
  app.add_option("--memory,-m", o.memory, "guest RAM, e.g. 256M or 2G (a bare number is MiB)")
      ->capture_default_str();
  app.add_option("--cpus", o.cpus, "number of vCPUs")->capture_default_str();
  app.add_option("--accel", o.accel, "accelerator: auto, kvm or soft")->capture_default_str();
  app.add_option("--jit", o.jit,
                 "the software CPU's translating tier: on (hot code compiled to host code) or off "
                 "(interpreter only); given, it overrides VESSEL_JIT")
      ->capture_default_str();
  app.add_flag("--debug-exit", o.debug_exit,
               "add a debug-exit port at 0xf4: a write of v ends vessel with status (v << 1) | 1");
  app.add_option("--kernel-format", o.kernel_format,
                 "auto (detect; a bzImage is decompressed on the host and entered through its "
                 "PVH entry when it can be, else booted through its own decompressor), bzimage "
                 "(always through its own decompressor), direct (a bzImage must load directly) "
                 "or flat (raw binary, real mode). A directly loaded kernel runs at its link "
                 "address: no KASLR (use bzimage to keep it)")
      ->capture_default_str();
  app.add_option("--load-addr", o.load_addr, "where a flat binary is loaded (below 1 MiB)")
      ->capture_default_str();
  app.add_flag("--rng", o.rng,
               "add a virtio-rng device (PCI) that feeds the guest's /dev/hwrng from the host");
  app.add_option("--console", o.console,
                 "the device that reads vessel's stdin: serial (the UART, ttyS0) or virtio (a "
                 "virtio console on PCI, hvc0); the output of both goes to stdout")
      ->capture_default_str();
  app.add_option("--disk", o.disks,
                 "add a virtio-blk disk (repeatable): PATH[,format=raw|qcow2][,readonly=on|off]"
                 "[,cache=none|writeback|writethrough|unsafe][,aio=threads|io_uring][,serial=ID]")
      ->take_all()
      ->allow_extra_args(false);
  app.add_option(
         "--net", o.nets,
         "add a virtio-net device (PCI): user[,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-"
         "[GUESTADDR]:GUESTPORT]...[,mac=MAC][,mtu=N] for user-mode networking (10.0.2.0/24, "
         "gateway 10.0.2.2, DNS 10.0.2.3, DHCP from 10.0.2.15; MTU 16384 by default), or "
         "tap=NAME[,mac=MAC] "
         "for a host TAP interface; MAC defaults to 52:54:00:12:34:56; repeatable")
      ->allow_extra_args(false);
  app.add_option("--api-socket", o.api_socket,
                 "serve the management API (HTTP/1.1 + JSON, docs/api.md) on this Unix socket, "
                 "e.g. for vesselctl or curl --unix-socket");
  app.add_option("--balloon", o.balloon,
                 "add a virtio-balloon device (PCI): [size=SIZE][,deflate_on_oom=on|off]"
                 "[,free_page_reporting=on|off][,stats_period=SECONDS]; size is the initial "
                 "target (default 0), free page reporting is on, deflate on OOM off, statistics "
                 "every 5 s by default")
      ->expected(0, 1)
      ->allow_extra_args(false);
  app.add_option("--uuid", o.uuid,
                 "the SMBIOS system UUID (8-4-4-4-12 hex digits, as /sys/class/dmi/id/"
                 "product_uuid shows it); default: a random one");
  app.add_flag("--reboot", o.reboot, "reboot when the guest resets, instead of exiting");
  app.add_flag("--probe-accel", o.probe_accel, "measure the accelerators on this host and exit");
  app.add_flag("-v,--verbose", o.verbose, "more messages on stderr");
  app.add_flag("-q,--quiet", o.quiet, "only errors on stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    vessel::log_error("{} (see vessel --help)", e.what());
    return 1;
  }
  o.jit_given = app.count("--jit") > 0;
  if (o.verbose) vessel::set_log_level(vessel::LogLevel::kInfo);
  if (o.quiet) vessel::set_log_level(vessel::LogLevel::kError);
  if (!o.config.empty()) {
    auto file = vessel::load_config_file(o.config);
    if (!file.ok()) return vessel::fail(file.error());
    vessel::merge_config_file(*file, app, o);
  }
  return vessel::run(o);
}

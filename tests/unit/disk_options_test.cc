#include "block/disk_options.h"

#include <gtest/gtest.h>

namespace vessel {
namespace {

TEST(DiskOptionsTest, Defaults) {
  auto d = parse_disk_options("/images/a.img");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->image.path, "/images/a.img");
  EXPECT_EQ(d->image.format, BlockFormat::kAuto);
  EXPECT_FALSE(d->image.read_only);
  EXPECT_EQ(d->image.cache, CacheMode::kWriteback);
  EXPECT_EQ(d->aio, AioMode::kThreads);
  EXPECT_EQ(d->serial, "");
}

TEST(DiskOptionsTest, EveryKey) {
  auto d = parse_disk_options(
      "disk.qcow2,format=qcow2,readonly=on,cache=none,aio=io_uring,serial=abc-123");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->image.path, "disk.qcow2");
  EXPECT_EQ(d->image.format, BlockFormat::kQcow2);
  EXPECT_TRUE(d->image.read_only);
  EXPECT_EQ(d->image.cache, CacheMode::kNone);
  EXPECT_EQ(d->aio, AioMode::kIoUring);
  EXPECT_EQ(d->serial, "abc-123");
  for (auto [text, cache] : {std::pair{"x,cache=writethrough", CacheMode::kWritethrough},
                             std::pair{"x,cache=unsafe", CacheMode::kUnsafe},
                             std::pair{"x,cache=writeback", CacheMode::kWriteback}}) {
    auto e = parse_disk_options(text);
    ASSERT_TRUE(e.ok()) << text;
    EXPECT_EQ(e->image.cache, cache);
  }
  auto raw = parse_disk_options("x,format=raw,readonly=off,aio=threads");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->image.format, BlockFormat::kRaw);
  EXPECT_FALSE(raw->image.read_only);
}

// Each bad form gives one line naming the --disk value and what is wrong.
TEST(DiskOptionsTest, BadForms) {
  struct Case {
    const char* text;
    const char* want;
  };
  for (Case c : {
           Case{"", "no image path"},
           Case{",cache=none", "no image path"},
           Case{"a.img,color=red", "unknown key 'color'"},
           Case{"a.img,cache=fast", "unknown cache mode 'fast'"},
           Case{"a.img,format=vmdk", "unknown disk format 'vmdk'"},
           Case{"a.img,aio=native", "unknown aio mode 'native'"},
           Case{"a.img,readonly=yes", "readonly must be on or off"},
           Case{"a.img,cache=none,cache=unsafe", "'cache' given twice"},
           Case{"a.img,readonly", "'readonly' is not KEY=VALUE"},
           Case{"a.img,", "'' is not KEY=VALUE"},
           Case{"a.img,serial=", "serial is empty"},
           Case{"a.img,serial=123456789012345678901", "longer than 20 bytes"},
           Case{"a.img,=x", "unknown key ''"},
       }) {
    auto d = parse_disk_options(c.text);
    ASSERT_FALSE(d.ok()) << c.text;
    const std::string& m = d.error().message;
    EXPECT_NE(m.find(c.want), std::string::npos) << c.text << " -> " << m;
    EXPECT_EQ(m.rfind("--disk '" + std::string(c.text) + "': ", 0), 0u) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace vessel

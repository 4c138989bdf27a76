#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "bus/io_bus.h"

namespace vessel {
namespace {

class RecordingDevice : public Device {
 public:
  explicit RecordingDevice(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  void read(uint64_t offset, std::span<uint8_t> data) override {
    last_read_offset = offset;
    for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<uint8_t>(offset + i);
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    last_write_offset = offset;
    written.assign(data.begin(), data.end());
  }
  uint64_t last_read_offset = ~0ull, last_write_offset = ~0ull;
  std::vector<uint8_t> written;

 private:
  std::string name_;
};

TEST(IoBus, RemoveTakesOnlyTheOwnersRange) {
  IoBus bus;
  auto a = std::make_shared<RecordingDevice>("a");
  auto b = std::make_shared<RecordingDevice>("b");
  ASSERT_TRUE(bus.add_mmio(0x1000, 0x100, a).ok());
  ASSERT_TRUE(bus.add_pio(0xc000, 0x20, a).ok());
  EXPECT_FALSE(bus.remove_mmio(0x1000, b.get()));  // not b's
  EXPECT_FALSE(bus.remove_mmio(0x1010, a.get()));  // not a range's base
  EXPECT_FALSE(bus.remove_pio(0x1000, a.get()));   // other address space
  uint8_t v = 0;
  bus.mmio_read(0x1004, std::span(&v, 1));
  EXPECT_EQ(v, 4);
  EXPECT_TRUE(bus.remove_mmio(0x1000, a.get()));
  bus.mmio_read(0x1004, std::span(&v, 1));
  EXPECT_EQ(v, 0xFF);
  EXPECT_FALSE(bus.remove_mmio(0x1000, a.get()));    // already gone
  EXPECT_TRUE(bus.add_mmio(0x1080, 0x100, b).ok());  // the space is free again
  EXPECT_TRUE(bus.remove_pio(0xc000, a.get()));
  bus.pio_read(0xc001, std::span(&v, 1));
  EXPECT_EQ(v, 0xFF);
}

TEST(IoBus, RejectsOverlaps) {
  IoBus bus;
  auto a = std::make_shared<RecordingDevice>("a");
  auto b = std::make_shared<RecordingDevice>("b");
  ASSERT_TRUE(bus.add_pio(0x3f8, 8, a).ok());
  EXPECT_FALSE(bus.add_pio(0x3ff, 1, b).ok());  // last port of a
  EXPECT_FALSE(bus.add_pio(0x3f0, 9, b).ok());  // covers a's first port
  EXPECT_FALSE(bus.add_pio(0x3f9, 2, b).ok());  // inside a
  EXPECT_TRUE(bus.add_pio(0x400, 1, b).ok());   // just after a
  EXPECT_TRUE(bus.add_pio(0x3f0, 8, b).ok());   // just before a
  auto err = bus.add_pio(0x3fa, 1, b);
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.error().message.find("overlaps a"), std::string::npos) << err.error().message;
  EXPECT_FALSE(bus.add_pio(0xfff0, 0x20, b).ok());      // past the end of port space
  EXPECT_FALSE(bus.add_mmio(0x1000, 0, b).ok());        // empty
  EXPECT_FALSE(bus.add_mmio(~0ull - 10, 100, b).ok());  // wraps
}

TEST(IoBus, DispatchesWithOffsets) {
  IoBus bus;
  auto dev = std::make_shared<RecordingDevice>("dev");
  ASSERT_TRUE(bus.add_mmio(0xd0000000, 0x1000, dev).ok());
  uint8_t buf[4];
  bus.mmio_read(0xd0000010, buf);
  EXPECT_EQ(dev->last_read_offset, 0x10u);
  EXPECT_EQ(buf[0], 0x10);
  EXPECT_EQ(buf[3], 0x13);
  const uint8_t w[2] = {0xaa, 0xbb};
  bus.mmio_write(0xd0000ffe, w);
  EXPECT_EQ(dev->last_write_offset, 0xffeu);
  EXPECT_EQ(dev->written, (std::vector<uint8_t>{0xaa, 0xbb}));
}

TEST(IoBus, UnclaimedReadsAllOnesAndAccessesPastARangeAreUnclaimed) {
  IoBus bus;
  auto dev = std::make_shared<RecordingDevice>("dev");
  ASSERT_TRUE(bus.add_pio(0x60, 1, dev).ok());
  uint8_t buf[2] = {0, 0};
  bus.pio_read(0x61, buf);
  EXPECT_EQ(buf[0], 0xff);
  EXPECT_EQ(buf[1], 0xff);
  // A 2-byte access at 0x60 runs past the 1-port device: unclaimed, not truncated.
  bus.pio_read(0x60, buf);
  EXPECT_EQ(buf[0], 0xff);
  EXPECT_EQ(bus.unclaimed_accesses(), 2u);
  const uint8_t w[1] = {1};
  bus.pio_write(0x70, w);  // dropped
  EXPECT_EQ(bus.unclaimed_accesses(), 3u);
  EXPECT_EQ(dev->last_write_offset, ~0ull);
}

}  // namespace
}  // namespace vessel

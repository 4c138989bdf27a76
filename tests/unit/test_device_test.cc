#include "devices/test_device.h"

#include <gtest/gtest.h>

#include "base/pc_layout.h"
#include "bus/io_bus.h"
#include "device_fakes.h"

namespace vessel {
namespace {

using testing::FakeIrqChip;

class TestDeviceTest : public ::testing::Test {
 protected:
  FakeIrqChip irq;
  std::shared_ptr<TestDevice> dev = std::make_shared<TestDevice>(irq);
  IoBus bus;

  void SetUp() override {
    ASSERT_TRUE(bus.add_pio(layout::kPortTestDevice, TestDevice::kPortCount, dev).ok());
    ASSERT_TRUE(bus.add_mmio(layout::kTestDeviceMmio, layout::kTestDeviceMmioSize, dev).ok());
  }
  uint64_t pio_read(uint64_t reg, size_t size) {
    uint8_t b[8] = {};
    bus.pio_read(static_cast<uint16_t>(layout::kPortTestDevice + reg), std::span<uint8_t>(b, size));
    return load(b);
  }
  uint64_t mmio_read(uint64_t reg, size_t size) {
    uint8_t b[8] = {};
    bus.mmio_read(layout::kTestDeviceMmio + reg, std::span<uint8_t>(b, size));
    return load(b);
  }
  void pio_write(uint64_t reg, uint64_t value, size_t size) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = static_cast<uint8_t>(value >> (8 * i));
    bus.pio_write(static_cast<uint16_t>(layout::kPortTestDevice + reg),
                  std::span<const uint8_t>(b, size));
  }
  void mmio_write(uint64_t reg, uint64_t value, size_t size) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = static_cast<uint8_t>(value >> (8 * i));
    bus.mmio_write(layout::kTestDeviceMmio + reg, std::span<const uint8_t>(b, size));
  }
  static uint64_t load(const uint8_t* b) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= uint64_t{b[i]} << (8 * i);
    return v;
  }
};

TEST_F(TestDeviceTest, IdInBothWindowsAndWidths) {
  EXPECT_EQ(pio_read(0x0, 4), 0x4C535356u);
  EXPECT_EQ(mmio_read(0x0, 4), 0x4C535356u);
  EXPECT_EQ(pio_read(0x0, 1), 0x56u);  // 'V'
  EXPECT_EQ(pio_read(0x2, 2), 0x4C53u);
  EXPECT_EQ(mmio_read(0x3, 1), 0x4Cu);  // 'L'
  pio_write(0x0, 0, 4);                 // read-only
  EXPECT_EQ(mmio_read(0x0, 4), 0x4C535356u);
}

TEST_F(TestDeviceTest, ScratchIsSharedAndByteAddressable) {
  pio_write(0x4, 0xDEADBEEF, 4);
  EXPECT_EQ(mmio_read(0x4, 4), 0xDEADBEEFu);
  mmio_write(0x5, 0x11, 1);
  EXPECT_EQ(pio_read(0x4, 4), 0xDEAD11EFu);
  pio_write(0x6, 0x2233, 2);
  EXPECT_EQ(mmio_read(0x4, 2), 0x11EFu);
  EXPECT_EQ(mmio_read(0x4, 4), 0x223311EFu);
  // An 8-byte MMIO access at 0 covers ID and SCRATCH.
  EXPECT_EQ(mmio_read(0x0, 8), 0x223311EF'4C535356u);
  mmio_write(0x0, 0x01020304'FFFFFFFFu, 8);
  EXPECT_EQ(pio_read(0x4, 4), 0x01020304u);
  EXPECT_EQ(pio_read(0x0, 4), 0x4C535356u);
}

TEST_F(TestDeviceTest, CounterAdvancesOnFullReads) {
  EXPECT_EQ(pio_read(0xC, 4), 0u);
  EXPECT_EQ(mmio_read(0xC, 4), 1u);
  EXPECT_EQ(pio_read(0xC, 4), 2u);
  EXPECT_EQ(pio_read(0xC, 1), 3u);  // narrow: peek, no advance
  EXPECT_EQ(mmio_read(0xC, 2), 3u);
  EXPECT_EQ(mmio_read(0x8, 8), uint64_t{3} << 32);  // 8 bytes at 0x8 cover the counter
  EXPECT_EQ(pio_read(0xC, 4), 4u);
  pio_write(0xC, 100, 4);  // writes ignored
  EXPECT_EQ(mmio_read(0xC, 4), 5u);
}

TEST_F(TestDeviceTest, IrqPulseRaiseLower) {
  pio_write(0x8, 1, 4);
  ASSERT_EQ(irq.calls.size(), 2u);
  EXPECT_EQ(irq.calls[0], (FakeIrqChip::Call{layout::kIrqTestDevice, true}));
  EXPECT_EQ(irq.calls[1], (FakeIrqChip::Call{layout::kIrqTestDevice, false}));
  EXPECT_EQ(pio_read(0x8, 4), 0u);

  mmio_write(0x8, 2, 1);
  ASSERT_EQ(irq.calls.size(), 3u);
  EXPECT_EQ(irq.calls[2], (FakeIrqChip::Call{layout::kIrqTestDevice, true}));
  EXPECT_EQ(mmio_read(0x8, 4), 1u);

  pio_write(0x8, 0, 2);
  ASSERT_EQ(irq.calls.size(), 4u);
  EXPECT_EQ(irq.calls[3], (FakeIrqChip::Call{layout::kIrqTestDevice, false}));

  pio_write(0x8, 3, 4);      // not a command
  pio_write(0x9, 1, 1);      // byte 1 of IRQ: value 0x100, not a command
  pio_write(0x8, 0x101, 4);  // likewise
  EXPECT_EQ(irq.calls.size(), 4u);
}

TEST_F(TestDeviceTest, OtherOffsetsReadZero) {
  EXPECT_EQ(mmio_read(0x10, 4), 0u);
  EXPECT_EQ(mmio_read(0xFF8, 8), 0u);
  mmio_write(0x10, 0xFFFFFFFF, 4);
  EXPECT_EQ(mmio_read(0x10, 4), 0u);
  EXPECT_EQ(pio_read(0x0, 4), 0x4C535356u);
  EXPECT_EQ(bus.unclaimed_accesses(), 0u);
}

}  // namespace
}  // namespace vessel

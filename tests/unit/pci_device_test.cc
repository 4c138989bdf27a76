#include <gtest/gtest.h>

#include <algorithm>

#include "base/pc_layout.h"
#include "device_fakes.h"
#include "pci/pci_bus.h"
#include "pci_test_util.h"

namespace vessel {
namespace {

using testing::cfg_read;
using testing::cfg_write;
using testing::FakeIrqChip;
using testing::mmio_read;
using testing::mmio_write;
using testing::pio_read;
using testing::pio_write;
using testing::RecordingPciDevice;

class PciDeviceTest : public ::testing::Test {
 protected:
  // Declared first: destroyed after the devices.
  IoBus io;
  FakeIrqChip irq;
  PciBus bus{io, irq};
  std::shared_ptr<RecordingPciDevice> dev = std::make_shared<RecordingPciDevice>();

  // BAR0 4 KiB memory, BAR1 32 I/O ports, BAR2-3 64-bit 16 KiB, INTA.
  void add_standard(uint32_t slot = 3) {
    ASSERT_TRUE(dev->add_bar(0, PciBarKind::kMemory32, 0x1000).ok());
    ASSERT_TRUE(dev->add_bar(1, PciBarKind::kIo, 0x20).ok());
    ASSERT_TRUE(dev->add_bar(2, PciBarKind::kMemory64, 0x4000, true).ok());
    dev->set_interrupt_pin(1);
    ASSERT_TRUE(bus.add(slot, dev).ok());
  }
};

TEST_F(PciDeviceTest, HeaderIdsAreReadOnly) {
  add_standard();
  EXPECT_EQ(cfg_read(*dev, 0, 4), 0x12341AF4u);
  EXPECT_EQ(cfg_read(*dev, 0x08, 4), 0x02800003u);  // class 02/80/00, revision 3
  EXPECT_EQ(cfg_read(*dev, 0x2C, 4), 0x00771AF4u);
  cfg_write(*dev, 0, 4, 0xFFFFFFFF);
  cfg_write(*dev, 0x08, 4, 0);
  cfg_write(*dev, 0x2C, 2, 0);
  cfg_write(*dev, 0x3D, 1, 4);  // interrupt pin is read-only
  EXPECT_EQ(cfg_read(*dev, 0, 4), 0x12341AF4u);
  EXPECT_EQ(cfg_read(*dev, 0x08, 4), 0x02800003u);
  EXPECT_EQ(cfg_read(*dev, 0x2C, 4), 0x00771AF4u);
  EXPECT_EQ(cfg_read(*dev, 0x3D, 1), 1u);
  EXPECT_EQ(cfg_read(*dev, 0x0E, 1), 0u);  // header type 0, single function
}

TEST_F(PciDeviceTest, CommandKeepsOnlyImplementedBits) {
  add_standard();
  cfg_write(*dev, pci::kCommand, 2, 0xFFFF);
  EXPECT_EQ(cfg_read(*dev, pci::kCommand, 2), pci::kCommandWritable);
  cfg_write(*dev, pci::kCommand, 2, 0);
  EXPECT_EQ(cfg_read(*dev, pci::kCommand, 2), 0u);
}

TEST_F(PciDeviceTest, InterruptLineIsWritableAndStartsAtTheRoutedGsi) {
  add_standard(3);
  EXPECT_EQ(cfg_read(*dev, pci::kInterruptLine, 1), layout::pci_intx_gsi(3, 1));
  cfg_write(*dev, pci::kInterruptLine, 1, 0x0B);
  EXPECT_EQ(cfg_read(*dev, pci::kInterruptLine, 1), 0x0Bu);
}

TEST_F(PciDeviceTest, ExtendedSpaceAndUnusedRegistersReadZero) {
  add_standard();
  cfg_write(*dev, 0x100, 4, 0xFFFFFFFF);
  EXPECT_EQ(cfg_read(*dev, 0x100, 4), 0u);
  cfg_write(*dev, 0x30, 4, 0xFFFFFFFF);  // no expansion ROM: size 0
  EXPECT_EQ(cfg_read(*dev, 0x30, 4), 0u);
  cfg_write(*dev, 0x24, 4, 0xFFFFFFFF);  // BAR5 unused
  EXPECT_EQ(cfg_read(*dev, 0x24, 4), 0u);
}

TEST_F(PciDeviceTest, BarSizeProbing) {
  add_standard();
  cfg_write(*dev, pci::kCommand, 2, 0);  // decoding off while sizing, as Linux does
  cfg_write(*dev, 0x10, 4, 0xFFFFFFFF);
  EXPECT_EQ(cfg_read(*dev, 0x10, 4), 0xFFFFF000u);  // 4 KiB, 32-bit, not prefetchable
  cfg_write(*dev, 0x14, 4, 0xFFFFFFFF);
  EXPECT_EQ(cfg_read(*dev, 0x14, 4), 0xFFFFFFE1u);  // 32 ports, I/O
  cfg_write(*dev, 0x18, 4, 0xFFFFFFFF);
  cfg_write(*dev, 0x1C, 4, 0xFFFFFFFF);
  EXPECT_EQ(cfg_read(*dev, 0x18, 4), 0xFFFFC00Cu);  // 16 KiB, 64-bit, prefetchable
  EXPECT_EQ(cfg_read(*dev, 0x1C, 4), 0xFFFFFFFFu);
  // Byte writes keep the type bits too.
  cfg_write(*dev, 0x10, 1, 0x00);
  EXPECT_EQ(cfg_read(*dev, 0x10, 4), 0xFFFFF000u);
}

TEST_F(PciDeviceTest, AllocatorPlacesBarsInTheWindowsAndMapsThem) {
  add_standard();
  uint32_t bar0 = cfg_read(*dev, 0x10, 4);
  uint32_t bar1 = cfg_read(*dev, 0x14, 4);
  uint64_t bar2 = cfg_read(*dev, 0x18, 4) | uint64_t{cfg_read(*dev, 0x1C, 4)} << 32;
  EXPECT_EQ(bar0, layout::kPciMmioBase);
  EXPECT_EQ(bar1, layout::kPciIoBase | pci::kBarIo);
  EXPECT_EQ(bar2 & ~0xFull, layout::kPciMmioBase + 0x4000);  // aligned to its 16 KiB
  EXPECT_EQ(bar2 & 0xF, 0xCu);
  EXPECT_EQ(dev->command() & (pci::kCommandIo | pci::kCommandMemory),
            pci::kCommandIo | pci::kCommandMemory);
  EXPECT_EQ(mmio_read(io, layout::kPciMmioBase + 8, 4), 0xA0A0A0A0u);
  EXPECT_EQ(dev->last_read_offset, 8u);
  EXPECT_EQ(pio_read(io, layout::kPciIoBase + 2, 2), 0xA1A1u);
  EXPECT_EQ(mmio_read(io, layout::kPciMmioBase + 0x4000 + 0x3FF8, 8), 0xA2A2A2A2A2A2A2A2u);
  pio_write(io, layout::kPciIoBase + 4, 1, 0x5A);
  ASSERT_EQ(dev->writes.size(), 1u);
  EXPECT_EQ(dev->writes[0], (RecordingPciDevice::Write{1, 4, 0x5A}));
}

TEST_F(PciDeviceTest, DecodingFollowsCommand) {
  add_standard();
  cfg_write(*dev, pci::kCommand, 2, pci::kCommandIo);  // memory off
  EXPECT_FALSE(dev->bar_mapping(0));
  EXPECT_TRUE(dev->bar_mapping(1));
  EXPECT_EQ(mmio_read(io, layout::kPciMmioBase, 4), 0xFFFFFFFFu);  // open bus
  EXPECT_EQ(pio_read(io, layout::kPciIoBase, 1), 0xA1u);
  cfg_write(*dev, pci::kCommand, 2, pci::kCommandMemory);
  EXPECT_FALSE(dev->bar_mapping(1));
  EXPECT_EQ(pio_read(io, layout::kPciIoBase, 1), 0xFFu);
  EXPECT_EQ(mmio_read(io, layout::kPciMmioBase, 4), 0xA0A0A0A0u);
  const auto& m = dev->mapped;
  EXPECT_NE(std::find(m.begin(), m.end(), RecordingPciDevice::Mapped{1, std::nullopt}), m.end());
  EXPECT_EQ(m.back(), (RecordingPciDevice::Mapped{2, layout::kPciMmioBase + 0x4000}));
}

TEST_F(PciDeviceTest, ReprogrammedBarMovesOnTheBus) {
  add_standard();
  constexpr uint64_t kNew = 0xC800'0000;
  cfg_write(*dev, 0x10, 4, kNew);
  EXPECT_EQ(dev->bar_mapping(0), kNew);
  EXPECT_EQ(mmio_read(io, kNew, 4), 0xA0A0A0A0u);
  EXPECT_EQ(mmio_read(io, layout::kPciMmioBase, 4), 0xFFFFFFFFu);
  EXPECT_EQ(dev->mapped.back(), (RecordingPciDevice::Mapped{0, kNew}));
  // The 64-bit BAR moves above 4 GiB when both halves are written.
  constexpr uint64_t kHigh = 0x8'0000'0000;
  cfg_write(*dev, 0x1C, 4, kHigh >> 32);
  cfg_write(*dev, 0x18, 4, 0);
  EXPECT_EQ(dev->bar_mapping(2), kHigh);
  EXPECT_EQ(mmio_read(io, kHigh + 0x10, 2), 0xA2A2u);
  // I/O BAR moved by a word write to its low half.
  cfg_write(*dev, 0x14, 2, 0xD000);
  EXPECT_EQ(dev->bar_mapping(1), 0xD000u);
  EXPECT_EQ(pio_read(io, 0xD01F, 1), 0xA1u);
}

TEST_F(PciDeviceTest, BarOverAnotherDeviceStaysUnmappedUntilMovedAway) {
  add_standard();
  auto other = std::make_shared<RecordingPciDevice>();
  ASSERT_TRUE(other->add_bar(0, PciBarKind::kMemory32, 0x1000).ok());
  ASSERT_TRUE(bus.add(4, other).ok());
  uint64_t other_at = *other->bar_mapping(0);
  cfg_write(*dev, 0x10, 4, other_at);  // collides: not decoded, no crash
  EXPECT_FALSE(dev->bar_mapping(0));
  EXPECT_EQ(other->bar_mapping(0), other_at);
  cfg_write(*other, 0x10, 4, 0xC900'0000);
  cfg_write(*dev, pci::kCommand, 2, pci::kCommandIo | pci::kCommandMemory);  // any rewrite retries
  EXPECT_EQ(dev->bar_mapping(0), other_at);
  // An I/O BAR past port 0xFFFF is not decoded either.
  cfg_write(*dev, 0x14, 4, 0x10000);
  EXPECT_FALSE(dev->bar_mapping(1));
}

TEST_F(PciDeviceTest, StatusErrorBitsAreWriteOneToClearAndIntxShowsInStatus) {
  add_standard(3);
  uint32_t gsi = layout::pci_intx_gsi(3, 1);
  EXPECT_EQ(cfg_read(*dev, pci::kStatus, 2) & pci::kStatusInterrupt, 0u);
  dev->set_intx(true);
  EXPECT_TRUE(irq.level(gsi));
  EXPECT_EQ(cfg_read(*dev, pci::kStatus, 2) & pci::kStatusInterrupt, pci::kStatusInterrupt);
  cfg_write(*dev, pci::kStatus, 2, 0xFFFF);  // RW1C bits are clear: nothing changes
  EXPECT_EQ(cfg_read(*dev, pci::kStatus, 2) & pci::kStatusInterrupt, pci::kStatusInterrupt);
  // Interrupt Disable drops the line but not the status; clearing it restores it.
  cfg_write(*dev, pci::kCommand, 2, pci::kCommandMemory | pci::kCommandIntxDisable);
  EXPECT_FALSE(irq.level(gsi));
  cfg_write(*dev, pci::kCommand, 2, pci::kCommandMemory);
  EXPECT_TRUE(irq.level(gsi));
  dev->set_intx(false);
  EXPECT_FALSE(irq.level(gsi));
  EXPECT_EQ(cfg_read(*dev, pci::kStatus, 2) & pci::kStatusInterrupt, 0u);
}

TEST_F(PciDeviceTest, IntxSwizzleAcrossSlots) {
  EXPECT_EQ(PciBus::intx_gsi(0, 1), 16u);
  EXPECT_EQ(PciBus::intx_gsi(1, 1), 17u);
  EXPECT_EQ(PciBus::intx_gsi(3, 2), 16u);
  EXPECT_EQ(PciBus::intx_gsi(31, 4), 18u);
}

TEST_F(PciDeviceTest, CapabilityListIsLinked) {
  uint8_t a[2] = {0x11, 0x22}, b[6] = {1, 2, 3, 4, 5, 6}, wb[6] = {0xFF, 0, 0, 0, 0, 0};
  auto first = dev->add_capability(pci::kCapVendor, a);
  auto second = dev->add_capability(pci::kCapVendor, b, wb);
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE(bus.add(5, dev).ok());
  EXPECT_EQ(cfg_read(*dev, pci::kStatus, 2) & pci::kStatusCapList, pci::kStatusCapList);
  EXPECT_EQ(cfg_read(*dev, pci::kCapabilitiesPointer, 1), *first);
  EXPECT_EQ(*first, 0x40u);
  EXPECT_EQ(cfg_read(*dev, *first, 4), 0x22110000u | (*second << 8) | pci::kCapVendor);
  EXPECT_EQ(cfg_read(*dev, *second + 1, 1), 0u);  // end of list
  cfg_write(*dev, *second + 2, 2, 0xABCD);        // only the first body byte is writable
  EXPECT_EQ(cfg_read(*dev, *second + 2, 2), 0x02CDu);
}

TEST_F(PciDeviceTest, SetUpErrorsAreReported) {
  EXPECT_FALSE(dev->add_bar(6, PciBarKind::kMemory32, 0x1000).ok());
  EXPECT_FALSE(dev->add_bar(0, PciBarKind::kMemory32, 0x1800).ok());  // not a power of two
  EXPECT_FALSE(dev->add_bar(0, PciBarKind::kIo, 0x200).ok());         // I/O BARs <= 256
  EXPECT_FALSE(dev->add_bar(5, PciBarKind::kMemory64, 0x1000).ok());  // needs BAR 6
  ASSERT_TRUE(dev->add_bar(0, PciBarKind::kMemory64, 0x1000).ok());
  EXPECT_FALSE(dev->add_bar(1, PciBarKind::kIo, 0x10).ok());  // upper half of BAR 0
  auto big = std::make_shared<RecordingPciDevice>();
  ASSERT_TRUE(big->add_bar(0, PciBarKind::kMemory32, 1ull << 30).ok());  // larger than the window
  EXPECT_FALSE(bus.add(1, big).ok());
  EXPECT_FALSE(bus.add(32, dev).ok());
  ASSERT_TRUE(bus.add(1, dev).ok());
  EXPECT_FALSE(bus.add(1, std::make_shared<RecordingPciDevice>()).ok());  // slot taken
}

}  // namespace
}  // namespace vessel

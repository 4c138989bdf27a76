#include <gtest/gtest.h>

#include "base/pc_layout.h"
#include "device_fakes.h"
#include "pci/msix.h"
#include "pci/pci_bus.h"
#include "pci_test_util.h"

namespace vessel {
namespace {

using testing::cfg_read;
using testing::cfg_write;
using testing::FakeIrqChip;
using testing::mmio_read;
using testing::mmio_write;
using testing::RecordingPciDevice;
using Msi = FakeIrqChip::Msi;

void write_entry(Msix& m, uint32_t v, uint64_t address, uint32_t data, bool masked) {
  uint8_t e[16];
  store_le(std::span<uint8_t>(e, 8), address);
  store_le(std::span<uint8_t>(e + 8, 4), data);
  store_le(std::span<uint8_t>(e + 12, 4), masked ? 1 : 0);
  m.table_write(v * 16, e);
}

uint64_t read_pba(Msix& m, uint64_t offset = 0) {
  uint8_t b[8];
  m.pba_read(offset, b);
  return load_le(b);
}

TEST(Msix, VectorsStartMaskedAndDisabled) {
  FakeIrqChip irq;
  Msix m(irq, 3);
  EXPECT_EQ(m.table_bytes(), 48u);
  EXPECT_EQ(m.pba_bytes(), 8u);
  for (uint32_t v = 0; v < 3; v++) EXPECT_TRUE(m.masked(v));
  uint8_t ctrl[4];
  m.table_read(12, ctrl);
  EXPECT_EQ(load_le(ctrl), 1u);
  EXPECT_FALSE(m.enabled());
  EXPECT_FALSE(m.notify(0));  // disabled: the device uses INTx
  EXPECT_FALSE(m.pending(0));
  EXPECT_TRUE(irq.msis.empty());
}

TEST(Msix, UnmaskedVectorSendsItsMessage) {
  FakeIrqChip irq;
  Msix m(irq, 4);
  m.set_control(true, false);
  write_entry(m, 2, 0xFEE0'1000, 0x4041, false);
  EXPECT_TRUE(m.notify(2));
  ASSERT_EQ(irq.msis.size(), 1u);
  EXPECT_EQ(irq.msis[0], (Msi{0xFEE0'1000, 0x4041}));
  EXPECT_FALSE(m.pending(2));
  EXPECT_FALSE(m.notify(4));  // no such vector
  EXPECT_EQ(irq.msis.size(), 1u);
}

TEST(Msix, MaskedVectorIsPendingUntilUnmasked) {
  FakeIrqChip irq;
  Msix m(irq, 70);
  m.set_control(true, false);
  write_entry(m, 65, 0xFEE0'0000, 0x31, true);
  EXPECT_TRUE(m.notify(65));
  EXPECT_TRUE(irq.msis.empty());
  EXPECT_TRUE(m.pending(65));
  EXPECT_EQ(read_pba(m, 8), 2u);  // bit 1 of the second QWORD
  EXPECT_EQ(read_pba(m, 0), 0u);
  uint8_t unmask[4] = {0, 0, 0, 0};
  m.table_write(65 * 16 + 12, unmask);
  ASSERT_EQ(irq.msis.size(), 1u);
  EXPECT_EQ(irq.msis[0], (Msi{0xFEE0'0000, 0x31}));
  EXPECT_FALSE(m.pending(65));
  EXPECT_EQ(read_pba(m, 8), 0u);
}

TEST(Msix, FunctionMaskHoldsEveryVector) {
  FakeIrqChip irq;
  Msix m(irq, 2);
  write_entry(m, 0, 0xFEE0'0000, 0x20, false);
  write_entry(m, 1, 0xFEE0'0000, 0x21, false);
  m.set_control(true, true);
  EXPECT_TRUE(m.notify(0));
  EXPECT_TRUE(m.notify(1));
  EXPECT_TRUE(irq.msis.empty());
  EXPECT_EQ(read_pba(m), 3u);
  m.set_control(true, false);
  ASSERT_EQ(irq.msis.size(), 2u);
  EXPECT_EQ(irq.msis[0].data, 0x20u);
  EXPECT_EQ(irq.msis[1].data, 0x21u);
  EXPECT_EQ(read_pba(m), 0u);
}

TEST(Msix, PendingBitsStayWhileDisabledAndPbaIsReadOnly) {
  FakeIrqChip irq;
  Msix m(irq, 1);
  m.set_control(true, true);
  EXPECT_TRUE(m.notify(0));
  m.set_control(false, false);  // disabled: nothing is delivered
  uint8_t unmask[4] = {};
  m.table_write(12, unmask);
  EXPECT_TRUE(irq.msis.empty());
  EXPECT_TRUE(m.pending(0));
  m.set_control(true, false);
  EXPECT_EQ(irq.msis.size(), 1u);
}

TEST(Msix, ReservedVectorControlBitsReadZeroAndOutOfRangeIsHarmless) {
  FakeIrqChip irq;
  Msix m(irq, 1);
  uint8_t ones[8];
  std::memset(ones, 0xFF, sizeof ones);
  m.table_write(12, std::span<const uint8_t>(ones, 4));
  uint8_t ctrl[4];
  m.table_read(12, ctrl);
  EXPECT_EQ(load_le(ctrl), 1u);
  m.table_write(16, ones);  // past the table: dropped
  uint8_t past[8];
  m.table_read(12, past);  // straddles the end: the outside bytes read 0
  EXPECT_EQ(load_le(past), 1u);
  m.reset();
  EXPECT_TRUE(m.masked(0));
}

// Through a device: capability bits in config space, table and PBA in a BAR.
TEST(PciMsix, CapabilityTableAndPbaThroughTheBus) {
  IoBus io;
  FakeIrqChip irq;
  PciBus bus{io, irq};
  auto dev = std::make_shared<RecordingPciDevice>();
  ASSERT_TRUE(dev->add_bar(1, PciBarKind::kMemory32, 0x4000).ok());
  dev->set_interrupt_pin(1);
  ASSERT_TRUE(dev->enable_msix(irq, 5, 1, 0x2000, 1, 0x3000).ok());
  ASSERT_TRUE(bus.add(2, dev).ok());
  uint64_t bar = *dev->bar_mapping(1);

  uint32_t cap = cfg_read(*dev, pci::kCapabilitiesPointer, 1);
  ASSERT_NE(cap, 0u);
  EXPECT_EQ(cfg_read(*dev, cap, 1), pci::kCapMsix);
  EXPECT_EQ(cfg_read(*dev, cap + 2, 2), 4u);  // table size N-1, disabled
  EXPECT_EQ(cfg_read(*dev, cap + 4, 4), 0x2001u);
  EXPECT_EQ(cfg_read(*dev, cap + 8, 4), 0x3001u);
  cfg_write(*dev, cap + 2, 2, 0xFFFF);  // table size is read-only
  EXPECT_EQ(cfg_read(*dev, cap + 2, 2), 0xC004u);
  EXPECT_TRUE(dev->msix()->enabled());

  // Program vector 3 through the BAR (dword accesses, as Linux does).
  uint64_t entry = bar + 0x2000 + 3 * 16;
  mmio_write(io, entry, 4, 0xFEE0'0000);
  mmio_write(io, entry + 4, 4, 0);
  mmio_write(io, entry + 8, 4, 0x55);
  mmio_write(io, entry + 12, 4, 0);
  EXPECT_EQ(mmio_read(io, entry + 8, 4), 0x55u);
  EXPECT_TRUE(dev->notify_msix(3));  // function masked: pending
  EXPECT_EQ(mmio_read(io, bar + 0x3000, 8), 1u << 3);
  mmio_write(io, bar + 0x3000, 8, 0);  // the PBA ignores writes
  EXPECT_EQ(mmio_read(io, bar + 0x3000, 8), 1u << 3);
  cfg_write(*dev, cap + 3, 1, 0x80);  // enable, function mask off
  ASSERT_EQ(irq.msis.size(), 1u);
  EXPECT_EQ(irq.msis[0], (Msi{0xFEE0'0000, 0x55}));
  EXPECT_EQ(mmio_read(io, bar + 0x3000, 8), 0u);
  // Other offsets of the BAR still reach the device.
  EXPECT_EQ(mmio_read(io, bar + 0x10, 4), 0xA1A1A1A1u);

  // With MSI-X enabled INTx does not reach its line; disabling restores it.
  uint32_t gsi = layout::pci_intx_gsi(2, 1);
  dev->set_intx(true);
  EXPECT_FALSE(irq.level(gsi));
  cfg_write(*dev, cap + 3, 1, 0x00);
  EXPECT_TRUE(irq.level(gsi));
  EXPECT_FALSE(dev->notify_msix(0));
}

TEST(PciMsix, BadPlacementIsRefused) {
  FakeIrqChip irq;
  RecordingPciDevice dev;
  ASSERT_TRUE(dev.add_bar(0, PciBarKind::kMemory32, 0x1000).ok());
  ASSERT_TRUE(dev.add_bar(1, PciBarKind::kIo, 0x100).ok());
  EXPECT_FALSE(dev.enable_msix(irq, 0, 0, 0, 0, 0x800).ok());
  EXPECT_FALSE(dev.enable_msix(irq, 2049, 0, 0, 0, 0x800).ok());
  EXPECT_FALSE(dev.enable_msix(irq, 4, 1, 0, 0, 0x800).ok());      // I/O BAR
  EXPECT_FALSE(dev.enable_msix(irq, 4, 0, 0xFF8, 0, 0x800).ok());  // past the BAR
  EXPECT_FALSE(dev.enable_msix(irq, 4, 0, 0, 0, 0x10).ok());       // overlap
  EXPECT_FALSE(dev.enable_msix(irq, 4, 0, 4, 0, 0x800).ok());      // unaligned
  EXPECT_TRUE(dev.enable_msix(irq, 4, 0, 0, 0, 0x800).ok());
  EXPECT_FALSE(dev.enable_msix(irq, 4, 0, 0, 0, 0x800).ok());  // twice
}

}  // namespace
}  // namespace vessel

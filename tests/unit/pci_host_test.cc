#include <gtest/gtest.h>

#include <random>

#include "base/pc_layout.h"
#include "device_fakes.h"
#include "devices/reset_control.h"
#include "pci/pci_host.h"
#include "pci_test_util.h"

namespace vessel {
namespace {

using testing::FakeIrqChip;
using testing::FakePowerControl;
using testing::mmio_read;
using testing::mmio_write;
using testing::pio_read;
using testing::pio_write;
using testing::RecordingPciDevice;

constexpr uint16_t kAddr = layout::kPortPciConfig;
constexpr uint16_t kData = layout::kPortPciConfig + 4;

uint32_t cf8(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t reg) {
  return PciConfigIo::kEnable | bus << 16 | dev << 11 | fn << 8 | reg;
}

uint64_t ecam(uint32_t dev, uint32_t fn, uint32_t reg) {
  return layout::kPciEcamBase + (uint64_t{dev} << 15 | fn << 12 | reg);
}

class PciHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(bus.add(0, std::make_shared<PciHostBridge>()).ok());
    ASSERT_TRUE(dev->add_bar(0, PciBarKind::kMemory32, 0x1000).ok());
    ASSERT_TRUE(bus.add(5, dev).ok());
    reset = std::make_shared<ResetControl>(power);
    ASSERT_TRUE(
        io.add_pio(kAddr, PciConfigIo::kPortCount, std::make_shared<PciConfigIo>(bus, reset)).ok());
    ASSERT_TRUE(
        io.add_mmio(layout::kPciEcamBase, layout::kPciEcamSize, std::make_shared<PciEcam>(bus))
            .ok());
  }
  IoBus io;
  FakeIrqChip irq;
  FakePowerControl power;
  PciBus bus{io, irq};
  std::shared_ptr<RecordingPciDevice> dev = std::make_shared<RecordingPciDevice>();
  std::shared_ptr<ResetControl> reset;
};

TEST_F(PciHostTest, HostBridgeThroughMechanismOne) {
  pio_write(io, kAddr, 4, cf8(0, 0, 0, 0));
  EXPECT_EQ(pio_read(io, kAddr, 4), cf8(0, 0, 0, 0));
  EXPECT_EQ(pio_read(io, kData, 4), 0x00081B36u);
  pio_write(io, kAddr, 4, cf8(0, 0, 0, 8));
  EXPECT_EQ(pio_read(io, kData, 4) >> 8, pci::kClassHostBridge);
  EXPECT_EQ(pio_read(io, kData + 3, 1), 0x06u);    // class byte at its offset
  EXPECT_EQ(pio_read(io, kData + 2, 2), 0x0600u);  // word at offset 2
}

TEST_F(PciHostTest, AddressRegisterKeepsOnlyItsBitsAndNeedsDwordAccess) {
  pio_write(io, kAddr, 4, 0xFFFF'FFFF);
  EXPECT_EQ(pio_read(io, kAddr, 4), 0x80FF'FFFCu);
  pio_write(io, kAddr, 4, 0);
  EXPECT_EQ(pio_read(io, kAddr, 4), 0u);
  // Linux's type 1 probe writes a byte at 0xCFB: not CONFIG_ADDRESS.
  pio_write(io, kAddr + 3, 1, 0x01);
  EXPECT_EQ(pio_read(io, kAddr, 4), 0u);
  EXPECT_EQ(pio_read(io, kAddr, 2), 0xFFFFu);
  // With the enable bit clear, data reads all ones.
  EXPECT_EQ(pio_read(io, kData, 4), 0xFFFF'FFFFu);
}

TEST_F(PciHostTest, ByteAtCf9IsTheResetControlRegister) {
  pio_write(io, kAddr + 1, 1, 0x02);
  EXPECT_EQ(pio_read(io, kAddr + 1, 1), 0x02u);
  EXPECT_TRUE(power.requests.empty());
  pio_write(io, kAddr + 1, 1, 0x06);
  ASSERT_EQ(power.requests.size(), 1u);
  EXPECT_EQ(power.requests[0].reason, StopReason::kReset);
  EXPECT_EQ(pio_read(io, kAddr, 4), 0u);  // CONFIG_ADDRESS untouched
}

TEST_F(PciHostTest, MissingDevicesAndFunctionsReadAllOnes) {
  pio_write(io, kAddr, 4, cf8(0, 7, 0, 0));
  EXPECT_EQ(pio_read(io, kData, 4), 0xFFFF'FFFFu);
  pio_write(io, kAddr, 4, cf8(0, 5, 1, 0));  // function 1 of a present device
  EXPECT_EQ(pio_read(io, kData, 2), 0xFFFFu);
  pio_write(io, kAddr, 4, cf8(1, 5, 0, 0));  // bus 1
  EXPECT_EQ(pio_read(io, kData, 4), 0xFFFF'FFFFu);
  pio_write(io, kData, 4, 0);  // ignored
  EXPECT_EQ(mmio_read(io, ecam(7, 0, 0), 4), 0xFFFF'FFFFu);
  EXPECT_EQ(mmio_read(io, ecam(5, 3, 0x10), 1), 0xFFu);
  mmio_write(io, ecam(7, 0, 4), 2, 0xFFFF);
}

TEST_F(PciHostTest, DataPortByteAndWordAccessesAtOffsets) {
  pio_write(io, kAddr, 4, cf8(0, 5, 0, 0x3C));
  pio_write(io, kData, 1, 0x0A);      // interrupt line
  pio_write(io, kData + 1, 1, 0x03);  // interrupt pin: read-only
  EXPECT_EQ(pio_read(io, kData, 4) & 0xFFFF, 0x000Au);
  pio_write(io, kAddr, 4, cf8(0, 5, 0, 0x04));
  pio_write(io, kData + 2, 2, 0xFFFF);  // status: RW1C bits, all clear
  pio_write(io, kData, 2, pci::kCommandMemory);
  EXPECT_EQ(pio_read(io, kData, 2), pci::kCommandMemory);
  EXPECT_EQ(pio_read(io, kData + 1, 1), 0u);
}

TEST_F(PciHostTest, EcamReachesTheSameRegistersAndExtendedSpace) {
  EXPECT_EQ(mmio_read(io, ecam(5, 0, 0), 4), 0x12341AF4u);
  EXPECT_EQ(mmio_read(io, ecam(5, 0, 2), 2), 0x1234u);
  EXPECT_EQ(mmio_read(io, ecam(5, 0, 1), 1), 0x1Au);
  EXPECT_EQ(mmio_read(io, ecam(0, 0, 0x100), 4), 0u);  // no extended capabilities
  // BAR sizing through ECAM moves the BAR through the same path.
  mmio_write(io, ecam(5, 0, 4), 2, 0);
  mmio_write(io, ecam(5, 0, 0x10), 4, 0xFFFF'FFFF);
  EXPECT_EQ(mmio_read(io, ecam(5, 0, 0x10), 4), 0xFFFF'F000u);
  mmio_write(io, ecam(5, 0, 0x10), 4, 0xC100'0000);
  mmio_write(io, ecam(5, 0, 4), 2, pci::kCommandMemory);
  EXPECT_EQ(dev->bar_mapping(0), 0xC100'0000u);
  // CF8/CFC sees what ECAM wrote.
  pio_write(io, kAddr, 4, cf8(0, 5, 0, 0x10));
  EXPECT_EQ(pio_read(io, kData, 4), 0xC100'0000u);
}

TEST_F(PciHostTest, EcamAccessCrossingIntoTheNextFunctionIsOpenBus) {
  EXPECT_EQ(mmio_read(io, ecam(5, 0, 0xFFE), 4), 0xFFFF'FFFFu);
  mmio_write(io, ecam(5, 0, 0xFFE), 4, 0);
  EXPECT_EQ(mmio_read(io, ecam(5, 0, 0), 4), 0x12341AF4u);
  // An 8-byte access inside one function reads both dwords.
  EXPECT_EQ(mmio_read(io, ecam(5, 0, 0), 8), 0x0000'0003'1234'1AF4u);
}

// Hostile guest: random accesses of every size at random places of both
// mechanisms (BAR and COMMAND writes included) never crash, never change
// read-only IDs, and leave the BARs mapped only where the bus allowed.
TEST_F(PciHostTest, RandomConfigAccessesKeepReadOnlyRegisters) {
  std::mt19937_64 rng(6);
  const size_t sizes[] = {1, 2, 4, 8};
  for (int i = 0; i < 20000; i++) {
    uint64_t r = rng();
    size_t size = sizes[r & 3];
    uint32_t devfn = (r >> 2) & 1 ? 5u << 3 : 0;  // the test device or the host bridge
    uint32_t reg = static_cast<uint32_t>((r >> 3) & 0xFFF);
    uint64_t value = rng();
    if ((r >> 20) & 1) {
      uint64_t addr = layout::kPciEcamBase + (uint64_t{devfn} << 12) + reg;
      if ((r >> 21) & 1) {
        mmio_write(io, addr, size, value);
      } else {
        mmio_read(io, addr, size);
      }
    } else {
      pio_write(io, kAddr, 4, cf8(0, devfn >> 3, 0, reg & 0xFC));
      uint16_t port = static_cast<uint16_t>(kData + (reg & 3));
      if ((r >> 21) & 1) {
        pio_write(io, port, size, value);
      } else {
        pio_read(io, port, size);
      }
    }
  }
  EXPECT_EQ(mmio_read(io, ecam(0, 0, 0), 4), 0x00081B36u);
  EXPECT_EQ(mmio_read(io, ecam(0, 0, 8), 4) >> 8, pci::kClassHostBridge);
  EXPECT_EQ(mmio_read(io, ecam(5, 0, 0), 4), 0x12341AF4u);
  EXPECT_EQ(mmio_read(io, ecam(5, 0, 0x10), 4) & 0xFFFu, 0u);  // BAR0's low bits stay 0
  EXPECT_EQ(mmio_read(io, ecam(5, 0, 0x14), 4), 0u);           // absent BAR1
  // Whatever the BAR holds now, programming it properly maps it again.
  mmio_write(io, ecam(5, 0, 0x10), 4, 0xC300'0000);
  mmio_write(io, ecam(5, 0, 4), 2, pci::kCommandMemory);
  EXPECT_EQ(dev->bar_mapping(0), 0xC300'0000u);
  EXPECT_EQ(mmio_read(io, 0xC300'0000, 4), 0xA0A0A0A0u);
}

}  // namespace
}  // namespace vessel

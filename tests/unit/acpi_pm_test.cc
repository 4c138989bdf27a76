#include "devices/acpi_pm.h"

#include <gtest/gtest.h>

#include "base/pc_layout.h"
#include "bus/io_bus.h"
#include "device_fakes.h"

namespace vessel {
namespace {

using testing::FakeIrqChip;
using testing::FakePowerControl;

constexpr uint64_t kSts = layout::kPortAcpiPm1aEvt - AcpiPm::kPortBase;
constexpr uint64_t kEn = kSts + 2;
constexpr uint64_t kCnt = layout::kPortAcpiPm1aCnt - AcpiPm::kPortBase;
constexpr uint64_t kTmr = layout::kPortAcpiPmTmr - AcpiPm::kPortBase;

class AcpiPmTest : public ::testing::Test {
 protected:
  FakePowerControl power;
  FakeIrqChip irq;
  uint64_t now_ns = 5'000'000'000;  // any start: the timer counts from construction
  AcpiPm pm{power, &irq, [this] { return now_ns; }};

  uint32_t read(uint64_t offset, size_t size) {
    uint8_t b[4] = {};
    pm.read(offset, std::span<uint8_t>(b, size));
    return b[0] | b[1] << 8 | b[2] << 16 | uint32_t{b[3]} << 24;
  }
  void write16(uint64_t offset, uint16_t value) {
    const uint8_t b[2] = {static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8)};
    pm.write(offset, b);
  }
};

TEST_F(AcpiPmTest, S5PowersOff) {
  const uint16_t s5 = layout::kAcpiS5SlpTyp << 10;
  write16(kCnt, s5);  // Linux writes SLP_TYP first...
  EXPECT_TRUE(power.requests.empty());
  EXPECT_EQ(read(kCnt, 2), s5 | 1u);
  write16(kCnt, s5 | 0x2000);  // ...then adds SLP_EN
  ASSERT_EQ(power.requests.size(), 1u);
  EXPECT_EQ(power.requests[0].reason, StopReason::kPowerOff);
  EXPECT_EQ(read(kCnt, 2) & 0x2000, 0u);  // SLP_EN is write-only
}

TEST_F(AcpiPmTest, S5ByHighByteWriteAlone) {
  const uint8_t high = static_cast<uint8_t>((layout::kAcpiS5SlpTyp << 2) | 0x20);
  pm.write(kCnt + 1, std::span<const uint8_t>(&high, 1));
  ASSERT_EQ(power.requests.size(), 1u);
  EXPECT_EQ(power.requests[0].reason, StopReason::kPowerOff);
}

TEST_F(AcpiPmTest, OtherSleepTypesAreIgnored) {
  for (uint16_t typ = 0; typ < 8; typ++) {
    if (typ == layout::kAcpiS5SlpTyp) continue;
    write16(kCnt, static_cast<uint16_t>(typ << 10 | 0x2000));
  }
  EXPECT_TRUE(power.requests.empty());
}

TEST_F(AcpiPmTest, SciEnAlwaysSetAndControlBitsStored) {
  EXPECT_EQ(read(kCnt, 2), 1u);
  write16(kCnt, 0x0000);
  EXPECT_EQ(read(kCnt, 2), 1u);
  write16(kCnt, 0x0006);  // BM_RLD stored, GBL_RLS write-only
  EXPECT_EQ(read(kCnt, 2), 3u);
}

TEST_F(AcpiPmTest, StatusIsWriteOneToClearAndEnableIsStored) {
  EXPECT_EQ(read(kSts, 2), 0u);
  write16(kEn, 0x0121);
  EXPECT_EQ(read(kEn, 2), 0x0121u);
  EXPECT_EQ(read(kSts, 4), 0x0121u << 16);  // STS and EN in one 4-byte read
  write16(kSts, 0xFFFF);
  EXPECT_EQ(read(kEn, 2), 0x0121u);  // clearing status leaves enable alone
}

// The power button sets PWRBTN_STS; SCI (IRQ 9) is high only while the
// status and PWRBTN_EN are both set, and falls when the guest clears either.
TEST_F(AcpiPmTest, PowerButtonRaisesSciWhileEnabled) {
  pm.press_power_button();
  EXPECT_EQ(read(kSts, 2), 0x0100u);
  EXPECT_FALSE(irq.level(layout::kIrqAcpiSci));  // not enabled yet
  write16(kEn, 0x0100);
  EXPECT_TRUE(irq.level(layout::kIrqAcpiSci));
  write16(kSts, 0x0100);  // the driver acknowledges
  EXPECT_EQ(read(kSts, 2), 0u);
  EXPECT_FALSE(irq.level(layout::kIrqAcpiSci));
  pm.press_power_button();
  EXPECT_TRUE(irq.level(layout::kIrqAcpiSci));
  write16(kEn, 0);  // disabling lowers it too
  EXPECT_FALSE(irq.level(layout::kIrqAcpiSci));
  EXPECT_TRUE(power.requests.empty());  // a button press is not a power-off
}

TEST_F(AcpiPmTest, TimerRunsAt3579545HzAndWrapsAt24Bits) {
  EXPECT_EQ(read(kTmr, 4), 0u);
  now_ns += 1'000'000;  // 1 ms
  EXPECT_EQ(read(kTmr, 4), 3579u);
  now_ns += 999'000'000;  // 1 s in all
  EXPECT_EQ(read(kTmr, 4), 3'579'545u);
  // 2^24 ticks = 4.6869... s; 5 ticks after the wrap:
  uint64_t wrap_ns = (uint64_t{1} << 24) * 1'000'000'000 / AcpiPm::kTimerHz + 1;
  now_ns = 5'000'000'000 + wrap_ns + 1'397;  // 1397 ns = 5 ticks
  uint32_t after = read(kTmr, 4);
  EXPECT_LT(after, 16u);
  EXPECT_GE(after, 4u);
  EXPECT_EQ(read(kTmr, 4) >> 24, 0u);
}

TEST_F(AcpiPmTest, TimerIsMonotonicBetweenWraps) {
  uint32_t last = 0;
  for (int i = 0; i < 1000; i++) {
    now_ns += 4'000'000;  // 4 s in all: under one wrap period
    uint32_t t = read(kTmr, 4);
    EXPECT_GT(t, last);
    last = t;
  }
  const uint8_t junk[4] = {1, 2, 3, 4};
  pm.write(kTmr, junk);  // read-only
  EXPECT_EQ(read(kTmr, 4), last);
}

TEST_F(AcpiPmTest, NarrowTimerReadsAreBytesOfTheCounter) {
  now_ns += 1'000'000'000;  // 0x369E99
  EXPECT_EQ(read(kTmr, 1), 0x99u);
  EXPECT_EQ(read(kTmr + 1, 2), 0x369Eu);
  EXPECT_EQ(read(kTmr + 3, 1), 0u);
}

TEST_F(AcpiPmTest, WholeBlockOnTheBus) {
  auto dev = std::make_shared<AcpiPm>(power, &irq, [this] { return now_ns; });
  IoBus bus;
  ASSERT_TRUE(bus.add_pio(AcpiPm::kPortBase, AcpiPm::kPortCount, dev).ok());
  uint8_t b[4] = {};
  bus.pio_read(layout::kPortAcpiPmTmr, b);
  bus.pio_read(layout::kPortAcpiPm1aCnt, std::span<uint8_t>(b, 2));
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(bus.unclaimed_accesses(), 0u);
}

}  // namespace
}  // namespace vessel

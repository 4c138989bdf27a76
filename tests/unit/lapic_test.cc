// The local APIC, from the Intel SDM vol. 3 ch. 11: reset state, priorities
// (TPR/PPR/ISR/IRR), acknowledge and EOI, the timer in one-shot, periodic and
// TSC-deadline modes on a fake clock, x2APIC MSR access and #GP cases,
// APIC_BASE transitions, the wake-up hook.
#include "irq/lapic.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>

#include "irq_test_util.h"

namespace vessel {
namespace {

using testing::apic_bit;
using testing::FakeTimeSource;
using testing::msi;
using testing::read32;
using testing::write32;

class LapicTest : public ::testing::Test {
 protected:
  LapicTest() : chip(clock, 2) {
    write32(apic(), Lapic::kRegSvr, 0x1FF);  // software-enable, spurious vector 0xFF
  }
  Lapic& apic() { return chip.lapic(0); }
  // Takes the pending interrupt like a CPU with IF=1 and returns its vector.
  int take() {
    auto v = apic().pending_vector(true);
    if (!v) return -1;
    uint8_t acked = apic().acknowledge();
    EXPECT_EQ(acked, *v);
    return acked;
  }
  void eoi() { write32(apic(), Lapic::kRegEoi, 0); }
  void enable_x2apic() {
    ASSERT_TRUE(apic()
                    .write_msr(Lapic::kMsrApicBase, 0xFEE0'0000 | Lapic::kApicBaseEnable |
                                                        Lapic::kApicBaseExtd | Lapic::kApicBaseBsp)
                    .ok());
  }

  FakeTimeSource clock;
  SoftIrqChip chip;
};

TEST_F(LapicTest, ResetState) {
  SoftIrqChip fresh(clock, 2);
  EXPECT_EQ(*fresh.lapic(0).read_msr(Lapic::kMsrApicBase), 0xFEE0'0900u);  // EN, BSP
  EXPECT_EQ(*fresh.lapic(1).read_msr(Lapic::kMsrApicBase), 0xFEE0'0800u);
  EXPECT_EQ(read32(fresh.lapic(1), Lapic::kRegId), 1u << 24);
  EXPECT_EQ(read32(fresh.lapic(0), Lapic::kRegVersion), 0x0005'0014u);
  EXPECT_EQ(read32(fresh.lapic(0), Lapic::kRegSvr), 0xFFu);
  EXPECT_EQ(read32(fresh.lapic(0), Lapic::kRegDfr), 0xFFFF'FFFFu);
  EXPECT_EQ(read32(fresh.lapic(0), Lapic::kRegLvtTimer), 0x10000u);
  EXPECT_EQ(read32(fresh.lapic(0), Lapic::kRegLvtLint0), 0x700u);  // BSP: virtual wire
  EXPECT_EQ(read32(fresh.lapic(1), Lapic::kRegLvtLint0), 0x10000u);
  EXPECT_FALSE(fresh.lapic(0).has_pending_event());
}

TEST_F(LapicTest, FixedInterruptAcknowledgeAndEoi) {
  msi(chip, 0, 0x41);
  EXPECT_TRUE(apic().has_pending_event());
  EXPECT_EQ(apic().pending_vector(false), std::nullopt);  // IF clear
  EXPECT_EQ(apic().pending_vector(true), 0x41);
  EXPECT_TRUE(apic_bit(apic(), Lapic::kRegIrr, 0x41));
  EXPECT_EQ(apic().acknowledge(), 0x41);
  EXPECT_FALSE(apic_bit(apic(), Lapic::kRegIrr, 0x41));
  EXPECT_TRUE(apic_bit(apic(), Lapic::kRegIsr, 0x41));
  EXPECT_EQ(read32(apic(), Lapic::kRegPpr), 0x40u);
  eoi();
  EXPECT_FALSE(apic_bit(apic(), Lapic::kRegIsr, 0x41));
  EXPECT_FALSE(apic().has_pending_event());
}

TEST_F(LapicTest, SoftwareDisabledApicDropsFixedInterrupts) {
  write32(apic(), Lapic::kRegSvr, 0xFF);
  msi(chip, 0, 0x41);
  EXPECT_FALSE(apic_bit(apic(), Lapic::kRegIrr, 0x41));
  // and forces LVT masks
  write32(apic(), Lapic::kRegLvtError, 0x33);
  EXPECT_EQ(read32(apic(), Lapic::kRegLvtError), 0x10033u);
}

TEST_F(LapicTest, HighestVectorFirst) {
  msi(chip, 0, 0x40);
  msi(chip, 0, 0x90);
  EXPECT_EQ(take(), 0x90);
  EXPECT_EQ(apic().pending_vector(true), std::nullopt);  // 0x40 is below the ISR's class
  eoi();
  EXPECT_EQ(take(), 0x40);
}

TEST_F(LapicTest, TaskPriorityBlocksLowerClasses) {
  write32(apic(), Lapic::kRegTpr, 0x60);
  msi(chip, 0, 0x51);
  EXPECT_EQ(read32(apic(), Lapic::kRegPpr), 0x60u);
  EXPECT_EQ(apic().pending_vector(true), std::nullopt);
  EXPECT_EQ(apic().acknowledge(), 0xFF);  // nothing deliverable: the spurious vector
  EXPECT_TRUE(apic_bit(apic(), Lapic::kRegIrr, 0x51));
  apic().set_tpr(0x40);  // CR8 = 4
  EXPECT_EQ(apic().tpr(), 0x40);
  EXPECT_EQ(take(), 0x51);
}

TEST_F(LapicTest, InServiceClassBlocksSameClassNotHigher) {
  msi(chip, 0, 0x81);
  EXPECT_EQ(take(), 0x81);
  msi(chip, 0, 0x85);
  EXPECT_EQ(apic().pending_vector(true), std::nullopt);
  msi(chip, 0, 0x91);
  EXPECT_EQ(take(), 0x91);  // nests
  eoi();                    // ends 0x91
  EXPECT_TRUE(apic_bit(apic(), Lapic::kRegIsr, 0x81));
  eoi();  // ends 0x81
  EXPECT_EQ(take(), 0x85);
}

TEST_F(LapicTest, IllegalVectorSetsErrorStatus) {
  msi(chip, 0, 0x05);
  EXPECT_FALSE(apic().has_pending_event());
  write32(apic(), Lapic::kRegEsr, 0);                // latch the errors
  EXPECT_EQ(read32(apic(), Lapic::kRegEsr), 0x40u);  // receive illegal vector
  write32(apic(), Lapic::kRegEsr, 0);
  EXPECT_EQ(read32(apic(), Lapic::kRegEsr), 0u);
}

TEST_F(LapicTest, WakeupHookFiresWhenSomethingBecomesPending) {
  int wakes = 0;
  apic().set_wakeup([&] { wakes++; });
  write32(apic(), Lapic::kRegTpr, 0x10);
  EXPECT_EQ(wakes, 0);
  msi(chip, 0, 0x41);
  EXPECT_EQ(wakes, 1);
  msi(chip, 1, 0x41);  // another CPU
  EXPECT_EQ(wakes, 1);
  write32(apic(), Lapic::kRegLvtTimer, 0x30);
  write32(apic(), Lapic::kRegTimerDivide, 0xB);
  write32(apic(), Lapic::kRegTimerInitial, 1000);
  clock.advance(1000);
  EXPECT_EQ(wakes, 2);
}

// --- Timer ---------------------------------------------------------------------

TEST_F(LapicTest, OneShotTimerCountsDownAndFiresOnce) {
  write32(apic(), Lapic::kRegTimerDivide, 0xB);  // divide by 1: 1 ns per count
  write32(apic(), Lapic::kRegLvtTimer, 0x30);    // one-shot, vector 0x30
  write32(apic(), Lapic::kRegTimerInitial, 1000);
  EXPECT_EQ(read32(apic(), Lapic::kRegTimerInitial), 1000u);
  clock.advance(400);
  EXPECT_EQ(read32(apic(), Lapic::kRegTimerCurrent), 600u);
  EXPECT_FALSE(apic().has_pending_event());
  clock.advance(600);
  EXPECT_EQ(take(), 0x30);
  eoi();
  EXPECT_EQ(read32(apic(), Lapic::kRegTimerCurrent), 0u);
  clock.advance(10'000);
  EXPECT_FALSE(apic().has_pending_event());
  EXPECT_EQ(clock.armed(), 0u);
}

TEST_F(LapicTest, DivideConfigurationScalesThePeriod) {
  write32(apic(), Lapic::kRegTimerDivide, 0x3);  // divide by 16
  EXPECT_EQ(read32(apic(), Lapic::kRegTimerDivide), 0x3u);
  write32(apic(), Lapic::kRegLvtTimer, 0x30);
  write32(apic(), Lapic::kRegTimerInitial, 1000);
  clock.advance(15'999);
  EXPECT_EQ(read32(apic(), Lapic::kRegTimerCurrent), 1u);
  EXPECT_FALSE(apic().has_pending_event());
  clock.advance(1);
  EXPECT_EQ(take(), 0x30);
}

TEST_F(LapicTest, PeriodicTimerFiresEveryPeriod) {
  write32(apic(), Lapic::kRegTimerDivide, 0xB);
  write32(apic(), Lapic::kRegLvtTimer, (1u << 17) | 0x31);  // periodic
  write32(apic(), Lapic::kRegTimerInitial, 100'000);        // 100 us
  for (int i = 0; i < 5; i++) {
    clock.advance(99'999);
    EXPECT_FALSE(apic().has_pending_event()) << i;
    clock.advance(1);
    EXPECT_EQ(take(), 0x31) << i;
    eoi();
  }
  clock.advance(25'000);
  EXPECT_EQ(read32(apic(), Lapic::kRegTimerCurrent), 75'000u);
  write32(apic(), Lapic::kRegTimerInitial, 0);  // stops it
  clock.advance(1'000'000);
  EXPECT_FALSE(apic().has_pending_event());
}

TEST_F(LapicTest, MaskedPeriodicTimerKeepsRunningWithoutInterrupts) {
  write32(apic(), Lapic::kRegTimerDivide, 0xB);
  write32(apic(), Lapic::kRegLvtTimer, (1u << 17) | (1u << 16) | 0x31);
  write32(apic(), Lapic::kRegTimerInitial, 100'000);
  clock.advance(250'000);
  EXPECT_FALSE(apic().has_pending_event());
  EXPECT_EQ(read32(apic(), Lapic::kRegTimerCurrent), 50'000u);
  write32(apic(), Lapic::kRegLvtTimer, (1u << 17) | 0x31);  // unmask, same mode
  clock.advance(50'000);
  EXPECT_EQ(take(), 0x31);
}

TEST_F(LapicTest, ModeChangeDisarmsTheTimer) {
  write32(apic(), Lapic::kRegTimerDivide, 0xB);
  write32(apic(), Lapic::kRegLvtTimer, 0x30);
  write32(apic(), Lapic::kRegTimerInitial, 1000);
  write32(apic(), Lapic::kRegLvtTimer, (1u << 17) | 0x30);
  EXPECT_EQ(read32(apic(), Lapic::kRegTimerInitial), 0u);
  clock.advance(10'000);
  EXPECT_FALSE(apic().has_pending_event());
}

TEST_F(LapicTest, TscDeadlineTimer) {
  write32(apic(), Lapic::kRegLvtTimer, (2u << 17) | 0x32);
  write32(apic(), Lapic::kRegTimerInitial, 5);  // ignored in TSC-deadline mode
  EXPECT_EQ(read32(apic(), Lapic::kRegTimerCurrent), 0u);
  uint64_t now = apic().tsc_now();
  ASSERT_TRUE(apic().write_msr(Lapic::kMsrTscDeadline, now + 5000).ok());
  EXPECT_EQ(*apic().read_msr(Lapic::kMsrTscDeadline), now + 5000);
  clock.advance(4999);
  EXPECT_FALSE(apic().has_pending_event());
  clock.advance(1);
  EXPECT_EQ(take(), 0x32);
  eoi();
  EXPECT_EQ(*apic().read_msr(Lapic::kMsrTscDeadline), 0u);  // cleared on expiry
  // A deadline in the past fires at once; zero disarms.
  ASSERT_TRUE(apic().write_msr(Lapic::kMsrTscDeadline, 1).ok());
  EXPECT_EQ(take(), 0x32);
  eoi();
  ASSERT_TRUE(apic().write_msr(Lapic::kMsrTscDeadline, apic().tsc_now() + 100).ok());
  ASSERT_TRUE(apic().write_msr(Lapic::kMsrTscDeadline, 0).ok());
  clock.advance(1000);
  EXPECT_FALSE(apic().has_pending_event());
}

TEST_F(LapicTest, TscDeadlineIgnoredInOtherModes) {
  write32(apic(), Lapic::kRegLvtTimer, 0x32);  // one-shot
  ASSERT_TRUE(apic().write_msr(Lapic::kMsrTscDeadline, apic().tsc_now() + 10).ok());
  EXPECT_EQ(*apic().read_msr(Lapic::kMsrTscDeadline), 0u);
  clock.advance(1000);
  EXPECT_FALSE(apic().has_pending_event());
}

TEST_F(LapicTest, TscFollowsTheClockAtItsFrequencyWithOffset) {
  SoftIrqChip fast(clock, 1, 2'500'000'000);  // 2.5 GHz
  Lapic& a = fast.lapic(0);
  EXPECT_EQ(a.tsc_hz(), 2'500'000'000u);
  uint64_t t0 = a.tsc_now();
  clock.advance(1000);
  EXPECT_EQ(a.tsc_now() - t0, 2500u);
  a.set_tsc_offset(-static_cast<int64_t>(a.tsc_now()));  // guest wrote TSC = 0
  EXPECT_EQ(a.tsc_now(), 0u);
  write32(a, Lapic::kRegSvr, 0x1FF);
  write32(a, Lapic::kRegLvtTimer, (2u << 17) | 0x33);
  ASSERT_TRUE(a.write_msr(Lapic::kMsrTscDeadline, 2500).ok());  // 1 us from now
  clock.advance(999);
  EXPECT_FALSE(a.has_pending_event());
  clock.advance(1);
  EXPECT_EQ(a.pending_vector(true), 0x33);
}

// --- x2APIC and APIC_BASE ---------------------------------------------------------

TEST_F(LapicTest, X2apicMsrsOnlyInX2apicMode) {
  EXPECT_FALSE(apic().read_msr(0x802).ok());
  EXPECT_FALSE(apic().write_msr(0x808, 0).ok());
  enable_x2apic();
  Lapic& ap = chip.lapic(1);
  ASSERT_TRUE(ap.write_msr(Lapic::kMsrApicBase, 0xFEE0'0C00).ok());
  EXPECT_EQ(*ap.read_msr(0x802), 1u);    // full 32-bit ID
  EXPECT_EQ(*ap.read_msr(0x80D), 0x2u);  // LDR: cluster 0, bit 1
  EXPECT_EQ(*apic().read_msr(0x803), 0x0005'0014u);
  EXPECT_EQ(*apic().read_msr(0x80F), 0x1FFu);
  EXPECT_EQ(read32(apic(), Lapic::kRegVersion), 0u);  // MMIO is off in x2APIC mode
}

TEST_F(LapicTest, X2apicGeneralProtectionCases) {
  enable_x2apic();
  EXPECT_FALSE(apic().read_msr(0x80B).ok());               // EOI is write-only
  EXPECT_FALSE(apic().read_msr(0x83F).ok());               // SELF IPI is write-only
  EXPECT_FALSE(apic().read_msr(0x80E).ok());               // no DFR
  EXPECT_FALSE(apic().read_msr(0x831).ok());               // no ICR high half
  EXPECT_FALSE(apic().read_msr(0x8FF).ok());               // reserved
  EXPECT_FALSE(apic().write_msr(0x802, 5).ok());           // ID is read-only
  EXPECT_FALSE(apic().write_msr(0x80D, 1).ok());           // LDR is read-only
  EXPECT_FALSE(apic().write_msr(0x839, 1).ok());           // current count is read-only
  EXPECT_FALSE(apic().write_msr(0x80B, 1).ok());           // EOI must be written with 0
  EXPECT_FALSE(apic().write_msr(0x828, 1).ok());           // ESR must be written with 0
  EXPECT_FALSE(apic().write_msr(0x808, 1ull << 32).ok());  // reserved upper half
  EXPECT_FALSE(apic().write_msr(0x83F, 0x100).ok());       // SELF IPI reserved bits
  EXPECT_TRUE(apic().write_msr(0x808, 0x20).ok());
  EXPECT_EQ(*apic().read_msr(0x808), 0x20u);
  EXPECT_EQ(*apic().read_msr(0x80A), 0x20u);  // PPR
}

TEST_F(LapicTest, X2apicSelfIpiIcrAndEoi) {
  enable_x2apic();
  ASSERT_TRUE(apic().write_msr(0x83F, 0x55).ok());
  EXPECT_EQ(take(), 0x55);
  EXPECT_EQ(*apic().read_msr(0x810 + 0x55 / 32), 1u << (0x55 % 32));  // ISR
  ASSERT_TRUE(apic().write_msr(0x80B, 0).ok());
  EXPECT_EQ(*apic().read_msr(0x810 + 0x55 / 32), 0u);
  // ICR: one 64-bit write, destination in bits 63-32.
  ASSERT_TRUE(chip.lapic(1).write_msr(Lapic::kMsrApicBase, 0xFEE0'0C00).ok());
  ASSERT_TRUE(chip.lapic(1).write_msr(0x80F, 0x1FF).ok());
  ASSERT_TRUE(apic().write_msr(0x830, (1ull << 32) | 0x66).ok());
  EXPECT_EQ(*apic().read_msr(0x830), (1ull << 32) | 0x66);
  EXPECT_EQ(chip.lapic(1).pending_vector(true), 0x66);
}

TEST_F(LapicTest, ApicBaseTransitions) {
  const uint64_t base = 0xFEE0'0000 | Lapic::kApicBaseBsp;
  const uint64_t en = Lapic::kApicBaseEnable, extd = Lapic::kApicBaseExtd;
  EXPECT_FALSE(apic().write_msr(Lapic::kMsrApicBase, base | extd).ok());       // EXTD without EN
  EXPECT_FALSE(apic().write_msr(Lapic::kMsrApicBase, 0xFED0'0000 | en).ok());  // relocation
  EXPECT_FALSE(apic().write_msr(Lapic::kMsrApicBase, base | en | (1ull << 63)).ok());
  ASSERT_TRUE(apic().write_msr(Lapic::kMsrApicBase, base | en | extd).ok());
  EXPECT_FALSE(apic().write_msr(Lapic::kMsrApicBase, base | en).ok());  // x2APIC -> xAPIC
  ASSERT_TRUE(apic().write_msr(Lapic::kMsrApicBase, base).ok());        // -> disabled
  EXPECT_EQ(*apic().read_msr(Lapic::kMsrApicBase), base);
  EXPECT_FALSE(apic().write_msr(Lapic::kMsrApicBase, base | en | extd).ok());  // disabled -> x2
  msi(chip, 0, 0x41);
  EXPECT_FALSE(apic().has_pending_event());  // a disabled APIC accepts nothing
  ASSERT_TRUE(apic().write_msr(Lapic::kMsrApicBase, base | en).ok());
  EXPECT_EQ(read32(apic(), Lapic::kRegSvr), 0xFFu);  // registers were reset
}

TEST_F(LapicTest, MmioGarbageIsHarmless) {
  for (uint32_t off = 0; off < 0x1000; off += 4) {
    if (off == Lapic::kRegIcrLow || off == Lapic::kRegEoi) continue;
    write32(apic(), off, 0xFFFF'FFFF);
  }
  uint8_t wide[16];
  apic().read(0xFF8, wide);
  apic().write(0xFFF, std::span<const uint8_t>(wide, 16));
  EXPECT_EQ(read32(apic(), Lapic::kRegVersion), 0x0005'0014u);
}

TEST_F(LapicTest, InitResetKeepsIdAndMode) {
  msi(chip, 0, 0x41);
  apic().init_reset();
  EXPECT_FALSE(apic().has_pending_event());
  EXPECT_EQ(read32(apic(), Lapic::kRegSvr), 0xFFu);
  EXPECT_EQ(*apic().read_msr(Lapic::kMsrApicBase), 0xFEE0'0900u);
}

TEST_F(LapicTest, StateRoundTripsThroughAKvmLayoutPage) {
  write32(apic(), Lapic::kRegTpr, 0x20);
  write32(apic(), Lapic::kRegLdr, 0x0400'0000);
  msi(chip, 0, 0x61);
  msi(chip, 0, 0x91);
  EXPECT_EQ(apic().acknowledge(), 0x91);
  write32(apic(), Lapic::kRegTimerDivide, 0xB);
  write32(apic(), Lapic::kRegLvtTimer, (1u << 17) | 0x31);
  write32(apic(), Lapic::kRegTimerInitial, 100'000);
  clock.advance(30'000);
  std::array<uint8_t, Lapic::kStateSize> page{};
  apic().save_state(page);
  auto reg = [&](uint32_t off) {
    uint32_t v;
    std::memcpy(&v, page.data() + off, 4);
    return v;
  };
  EXPECT_EQ(reg(Lapic::kRegTpr), 0x20u);
  EXPECT_EQ(reg(Lapic::kRegSvr), 0x1FFu);
  EXPECT_EQ(reg(Lapic::kRegTimerCurrent), 70'000u);
  EXPECT_EQ(reg(Lapic::kRegIsr + 0x40), 1u << (0x91 - 0x80));

  SoftIrqChip other(clock, 1);
  Lapic& b = other.lapic(0);
  ASSERT_TRUE(b.load_state(page, 0xFEE0'0900).ok());
  EXPECT_EQ(read32(b, Lapic::kRegLdr), 0x0400'0000u);
  EXPECT_TRUE(apic_bit(b, Lapic::kRegIsr, 0x91));
  EXPECT_TRUE(apic_bit(b, Lapic::kRegIrr, 0x61));
  EXPECT_EQ(read32(b, Lapic::kRegTimerCurrent), 70'000u);
  EXPECT_EQ(b.pending_vector(true), std::nullopt);  // 0x61 waits behind 0x91 in service
  write32(b, Lapic::kRegEoi, 0);
  EXPECT_EQ(b.acknowledge(), 0x61);
  write32(b, Lapic::kRegEoi, 0);
  clock.advance(70'000);  // the timer resumed with the saved count
  EXPECT_EQ(b.pending_vector(true), 0x31);
  EXPECT_FALSE(b.load_state(page, 0xFED0'0900).ok());
  EXPECT_FALSE(b.load_state(page, 0xFEE0'0400).ok());  // x2APIC without enable
}

}  // namespace
}  // namespace vessel

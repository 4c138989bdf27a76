// The soft interrupt system as a whole: GSI routing (the MADT's PIT override,
// ISA lines to both controllers, GSI 16-23 to the IOAPIC only), MSIs,
// IPIs, destination modes, broadcast EOI of level interrupts, ExtINT from the
// 8259A to the BSP, and the bus registration.
#include "irq/soft_irq_chip.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <thread>

#include "base/event_loop.h"
#include "base/pc_layout.h"
#include "irq_test_util.h"

namespace vessel {
namespace {

using testing::apic_bit;
using testing::FakeTimeSource;
using testing::msi;
using testing::read32;
using testing::write32;

class SoftIrqChipTest : public ::testing::Test {
 protected:
  SoftIrqChipTest() : chip(clock, 2) {
    for (int i = 0; i < 2; i++) write32(chip.lapic(i), Lapic::kRegSvr, 0x1FF);
  }
  void program_pin(uint32_t pin, uint64_t entry) {
    write32(chip.ioapic(), Ioapic::kRegSelect, 0x10 + 2 * pin);
    write32(chip.ioapic(), Ioapic::kRegWindow, static_cast<uint32_t>(entry));
    write32(chip.ioapic(), Ioapic::kRegSelect, 0x11 + 2 * pin);
    write32(chip.ioapic(), Ioapic::kRegWindow, static_cast<uint32_t>(entry >> 32));
  }
  uint64_t pin_entry(uint32_t pin) {
    write32(chip.ioapic(), Ioapic::kRegSelect, 0x10 + 2 * pin);
    return read32(chip.ioapic(), Ioapic::kRegWindow);
  }
  void out(uint16_t port, uint8_t value) {
    bus.pio_write(port, std::span<const uint8_t>(&value, 1));
  }
  uint8_t in(uint16_t port) {
    uint8_t v = 0;
    bus.pio_read(port, std::span<uint8_t>(&v, 1));
    return v;
  }
  void init_pic() {
    ASSERT_TRUE(chip.attach(bus).ok());
    const uint8_t seq[][2] = {{0x20, 0x11}, {0x21, 0x20}, {0x21, 0x04}, {0x21, 0x01},
                              {0xA0, 0x11}, {0xA1, 0x28}, {0xA1, 0x02}, {0xA1, 0x01}};
    for (auto& s : seq) out(s[0], s[1]);
  }
  // Acknowledges CPU `cpu`'s interrupt and ends it; returns the vector.
  int take(int cpu) {
    uint8_t v = chip.lapic(cpu).acknowledge();
    write32(chip.lapic(cpu), Lapic::kRegEoi, 0);
    return v;
  }
  // Sends an xAPIC IPI from CPU `from`.
  void ipi(int from, uint32_t dest, uint32_t low) {
    write32(chip.lapic(from), Lapic::kRegIcrHigh, dest << 24);
    write32(chip.lapic(from), Lapic::kRegIcrLow, low);
  }

  FakeTimeSource clock;
  SoftIrqChip chip;
  IoBus bus;
};

TEST_F(SoftIrqChipTest, PitGsi0GoesToIoapicPin2) {
  program_pin(2, 0x30);
  program_pin(0, 0x31);
  chip.set_level(layout::kIrqPit, true);
  EXPECT_EQ(chip.lapic(0).pending_vector(true), 0x30);
  chip.set_level(2, true);  // the cascade line reaches no IOAPIC pin
  EXPECT_EQ(chip.lapic(0).acknowledge(), 0x30);
  EXPECT_EQ(chip.lapic(0).pending_vector(true), std::nullopt);
}

TEST_F(SoftIrqChipTest, PitRateGeneratorTicksThroughIoapicPin2) {
  ASSERT_TRUE(chip.attach(bus).ok());
  program_pin(2, 0x30);
  out(0x43, 0x34);  // counter 0, mode 2, 1193 counts: about 1 ms, as Linux sets HZ=1000
  out(0x40, 0xA9);
  out(0x40, 0x04);
  int ticks = 0;
  for (int ms = 0; ms < 10; ms++) {
    clock.advance(1'000'000);
    while (chip.lapic(0).pending_vector(true)) {
      EXPECT_EQ(take(0), 0x30);
      ticks++;
    }
  }
  EXPECT_GE(ticks, 9);
  EXPECT_LE(ticks, 11);
}

TEST_F(SoftIrqChipTest, IsaLinesReachBothControllersAndPciLinesOnlyTheIoapic) {
  init_pic();
  program_pin(4, 0x34);
  program_pin(17, 0x47);
  program_pin(0, 1ull << 16);                            // no ExtINT through the IOAPIC
  write32(chip.lapic(0), Lapic::kRegLvtLint0, 0x10700);  // mask LINT0: only the IOAPIC path
  chip.set_level(4, true);
  EXPECT_EQ(chip.lapic(0).acknowledge(), 0x34);
  out(0x20, 0x0A);
  EXPECT_EQ(in(0x20), 0x10);  // the 8259A saw IRQ 4 too
  chip.set_level(17, true);
  EXPECT_EQ(chip.lapic(0).acknowledge(), 0x47);
  out(0xA0, 0x0A);
  EXPECT_EQ(in(0xA0), 0x00);
  chip.set_level(200, true);  // out of range: ignored
}

TEST_F(SoftIrqChipTest, LevelInterruptBroadcastEoiReassertsOnlyWhileLineHigh) {
  program_pin(9, (1ull << 15) | 0x49);  // level
  chip.set_level(9, true);
  Lapic& a = chip.lapic(0);
  EXPECT_TRUE(apic_bit(a, Lapic::kRegTmr, 0x49));
  EXPECT_EQ(a.acknowledge(), 0x49);
  EXPECT_TRUE(pin_entry(9) & (1u << 14));  // Remote IRR
  write32(a, Lapic::kRegEoi, 0);
  EXPECT_TRUE(apic_bit(a, Lapic::kRegIrr, 0x49));  // still high: again
  EXPECT_EQ(a.acknowledge(), 0x49);
  chip.set_level(9, false);
  write32(a, Lapic::kRegEoi, 0);
  EXPECT_FALSE(apic_bit(a, Lapic::kRegIrr, 0x49));
  EXPECT_FALSE(pin_entry(9) & (1u << 14));
  EXPECT_FALSE(a.has_pending_event());
}

TEST_F(SoftIrqChipTest, EdgeEoiDoesNotTouchTheIoapic) {
  program_pin(9, (1ull << 15) | 0x49);  // level pin with vector 0x49
  chip.set_level(9, true);
  EXPECT_EQ(chip.lapic(0).acknowledge(), 0x49);
  msi(chip, 0, 0x50);  // edge
  EXPECT_EQ(chip.lapic(0).acknowledge(), 0x50);
  write32(chip.lapic(0), Lapic::kRegEoi, 0);  // ends 0x50, an edge vector
  EXPECT_TRUE(pin_entry(9) & (1u << 14));
}

TEST_F(SoftIrqChipTest, PicInterruptReachesTheBspAsExtInt) {
  init_pic();
  int wakes = 0;
  chip.lapic(0).set_wakeup([&] { wakes++; });
  chip.set_level(1, true);
  EXPECT_GT(wakes, 0);
  EXPECT_TRUE(chip.lapic(0).has_pending_event());
  EXPECT_EQ(chip.lapic(0).pending_vector(false), std::nullopt);
  EXPECT_EQ(chip.lapic(0).pending_vector(true), 0x21);
  EXPECT_EQ(chip.lapic(1).pending_vector(true), std::nullopt);  // AP: LINT0 masked
  EXPECT_EQ(chip.lapic(0).acknowledge(), 0x21);
  EXPECT_FALSE(chip.lapic(0).has_pending_event());
  out(0x20, 0x20);  // EOI at the 8259A
  chip.set_level(1, false);
  chip.set_level(1, true);
  write32(chip.lapic(0), Lapic::kRegLvtLint0, 0x10700);  // the OS masks LINT0
  EXPECT_EQ(chip.lapic(0).pending_vector(true), std::nullopt);
}

TEST_F(SoftIrqChipTest, PicThroughIoapicPin0InExtIntMode) {
  init_pic();
  write32(chip.lapic(0), Lapic::kRegLvtLint0, 0x10700);
  program_pin(0, 7u << 8);  // ExtINT, dest 0
  chip.set_level(3, true);
  EXPECT_EQ(chip.lapic(0).pending_vector(true), 0x23);
  EXPECT_EQ(chip.lapic(0).acknowledge(), 0x23);
}

TEST_F(SoftIrqChipTest, FixedIpiAndShorthands) {
  ipi(0, 1, 0x4040);  // fixed, vector 0x40, assert
  EXPECT_EQ(chip.lapic(1).pending_vector(true), 0x40);
  EXPECT_FALSE(chip.lapic(0).has_pending_event());
  ipi(1, 0, (3u << 18) | 0x42);  // all excluding self
  EXPECT_EQ(chip.lapic(0).pending_vector(true), 0x42);
  EXPECT_EQ(chip.lapic(1).pending_vector(true), 0x40);
  ipi(1, 0, (1u << 18) | 0x43);  // self
  EXPECT_EQ(chip.lapic(1).pending_vector(true), 0x43);
  ipi(0, 0, (2u << 18) | 0x44);  // all including self
  EXPECT_EQ(chip.lapic(0).pending_vector(true), 0x44);
  EXPECT_EQ(chip.lapic(1).pending_vector(true), 0x44);
  EXPECT_EQ(read32(chip.lapic(0), Lapic::kRegIcrLow), (2u << 18) | 0x44);  // idle
}

TEST_F(SoftIrqChipTest, InitSipiAndNmiIpis) {
  Lapic& ap = chip.lapic(1);
  ipi(0, 1, 0xC500);  // INIT, level, assert
  EXPECT_TRUE(ap.has_pending_event());
  EXPECT_TRUE(ap.take_init());
  EXPECT_FALSE(ap.take_init());
  ipi(0, 1, 0x8500);  // INIT level de-assert: no effect
  EXPECT_FALSE(ap.take_init());
  ipi(0, 1, 0x069A);  // SIPI, vector 0x9A
  EXPECT_EQ(ap.take_sipi(), 0x9A);
  EXPECT_EQ(ap.take_sipi(), std::nullopt);
  ipi(0, 1, 0x0400);  // NMI
  EXPECT_TRUE(ap.nmi_pending());
  EXPECT_TRUE(ap.take_nmi());
  EXPECT_FALSE(ap.take_nmi());
  EXPECT_FALSE(ap.has_pending_event());
}

TEST_F(SoftIrqChipTest, IllegalIpiVectorSetsSendError) {
  ipi(0, 1, 0x0005);
  EXPECT_FALSE(chip.lapic(1).has_pending_event());
  write32(chip.lapic(0), Lapic::kRegEsr, 0);
  EXPECT_EQ(read32(chip.lapic(0), Lapic::kRegEsr), 0x20u);
}

TEST_F(SoftIrqChipTest, LogicalFlatClusterAndLowestPriority) {
  write32(chip.lapic(0), Lapic::kRegLdr, 0x0100'0000);
  write32(chip.lapic(1), Lapic::kRegLdr, 0x0200'0000);
  auto logical_msi = [&](uint8_t dest, uint8_t vector, bool lowest) {
    chip.send_msi(0xFEE0'0004 | (uint64_t{dest} << 12), (lowest ? 1u << 8 : 0) | vector);
  };
  logical_msi(0x02, 0x50, false);
  EXPECT_FALSE(chip.lapic(0).has_pending_event());
  EXPECT_EQ(take(1), 0x50);
  logical_msi(0x03, 0x51, false);
  EXPECT_EQ(take(0), 0x51);
  EXPECT_EQ(take(1), 0x51);
  logical_msi(0x03, 0x52, true);  // lowest priority: the lowest APIC ID
  EXPECT_EQ(take(0), 0x52);
  EXPECT_FALSE(chip.lapic(1).has_pending_event());
  // Cluster model: cluster 1, members by bit.
  for (int i = 0; i < 2; i++) write32(chip.lapic(i), Lapic::kRegDfr, 0x0FFF'FFFF);
  write32(chip.lapic(0), Lapic::kRegLdr, 0x1100'0000);
  write32(chip.lapic(1), Lapic::kRegLdr, 0x2100'0000);
  logical_msi(0x21, 0x53, false);
  EXPECT_FALSE(chip.lapic(0).has_pending_event());
  EXPECT_EQ(take(1), 0x53);
}

TEST_F(SoftIrqChipTest, MsiBroadcastAndBadAddress) {
  msi(chip, 0xFF, 0x60);
  EXPECT_EQ(chip.lapic(0).pending_vector(true), 0x60);
  EXPECT_EQ(chip.lapic(1).pending_vector(true), 0x60);
  chip.send_msi(0xFED0'0000, 0x61);  // not the interrupt address range
  EXPECT_EQ(chip.lapic(0).pending_vector(true), 0x60);
  chip.send_msi(0xFEE0'1000, (4u << 8));  // NMI to APIC 1
  EXPECT_TRUE(chip.lapic(1).take_nmi());
}

TEST_F(SoftIrqChipTest, AttachRegistersEveryWindowAndLapicFollowsTheThread) {
  ASSERT_TRUE(chip.attach(bus).ok());
  EXPECT_FALSE(chip.attach(bus).ok());  // everything is taken already
  out(0x21, 0x5A);
  EXPECT_EQ(in(0x21), 0x5A);
  out(0x4D1, 0x04);
  EXPECT_EQ(in(0x4D1), 0x04);
  out(0x61, 0x01);
  EXPECT_EQ(in(0x61) & 0x0F, 0x01);
  uint8_t b[4];
  uint32_t sel = 1;
  bus.mmio_write(layout::kIoapicBase,
                 std::span<const uint8_t>(reinterpret_cast<uint8_t*>(&sel), 4));
  bus.mmio_read(layout::kIoapicBase + 0x10, b);
  EXPECT_EQ(b[0], 0x11);
  bus.mmio_read(layout::kLapicBase + Lapic::kRegId, b);
  EXPECT_EQ(b[3], 0);  // an unbound thread reaches CPU 0
  std::thread vcpu1([&] {
    chip.bind_current_thread(1);
    uint8_t id[4];
    bus.mmio_read(layout::kLapicBase + Lapic::kRegId, id);
    EXPECT_EQ(id[3], 1);
  });
  vcpu1.join();
  EXPECT_EQ(bus.unclaimed_accesses(), 0u);
}

TEST_F(SoftIrqChipTest, ConcurrentDevicesAndCpuDoNotCorruptState) {
  program_pin(10, 0x5A);
  std::atomic<bool> stop{false};
  std::thread device([&] {
    while (!stop) {
      chip.set_level(10, true);
      chip.set_level(10, false);
      msi(chip, 0, 0x70);
    }
  });
  int taken = 0;
  for (int i = 0; i < 20000; i++) {
    if (!chip.lapic(0).has_pending_event()) continue;
    if (auto v = chip.lapic(0).pending_vector(true)) {
      // A higher-priority interrupt (the MSI's 0x70) may arrive between the
      // two calls: INTA takes the highest one then, never a lower one.
      uint8_t got = chip.lapic(0).acknowledge();
      EXPECT_TRUE(got == 0x5A || got == 0x70) << int{got};
      EXPECT_GE(got, *v);
      write32(chip.lapic(0), Lapic::kRegEoi, 0);
      taken++;
    }
  }
  stop = true;
  device.join();
  EXPECT_EQ(read32(chip.lapic(0), Lapic::kRegIsr + 0x10 * (0x5A / 32)) & (1u << (0x5A % 32)), 0u);
  SUCCEED() << taken << " interrupts taken";
}

// A halted vCPU sleeping on the wake-up hook while the LAPIC timer fires on
// a real event loop thread.
TEST(SoftIrqChipRealTime, HaltedVcpuWakesForPeriodicTimer) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop.ok());
  std::thread loop_thread([&] { (*loop)->run(); });
  {
    EventLoopTimeSource time(**loop);
    SoftIrqChip chip(time, 1);
    Lapic& apic = chip.lapic(0);
    std::mutex mu;
    std::condition_variable cv;
    bool woken = false;
    apic.set_wakeup([&] {
      std::lock_guard lock(mu);
      woken = true;
      cv.notify_one();
    });
    write32(apic, Lapic::kRegSvr, 0x1FF);
    write32(apic, Lapic::kRegTimerDivide, 0xB);
    write32(apic, Lapic::kRegLvtTimer, (1u << 17) | 0x40);
    write32(apic, Lapic::kRegTimerInitial, 1'000'000);  // 1 ms
    int taken = 0;
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (taken < 5 && std::chrono::steady_clock::now() < give_up) {
      // HLT: clear the flag, check (without holding `mu`: the hook takes `mu`
      // under the chip's lock), then sleep until the hook sets the flag.
      {
        std::lock_guard lock(mu);
        woken = false;
      }
      if (!apic.pending_vector(true)) {
        std::unique_lock lock(mu);
        cv.wait_until(lock, give_up, [&] { return woken; });
      }
      if (apic.pending_vector(true)) {
        EXPECT_EQ(apic.acknowledge(), 0x40);
        write32(apic, Lapic::kRegEoi, 0);
        taken++;
      }
    }
    EXPECT_EQ(taken, 5);
    write32(apic, Lapic::kRegTimerInitial, 0);
    (*loop)->stop();
    loop_thread.join();
  }
}

}  // namespace
}  // namespace vessel

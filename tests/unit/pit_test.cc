// The 8254 PIT and port 0x61, from the 8254 datasheet, on a fake clock:
// modes 0-4, counter latch and read-back, LSB/MSB access, BCD, the gate of
// counter 2 and OUT2 on port 0x61, counter 0's interrupts.
#include "irq/pit8254.h"

#include <gtest/gtest.h>

#include "device_fakes.h"
#include "fake_time_source.h"

namespace vessel {
namespace {

using testing::FakeIrqChip;
using testing::FakeTimeSource;

// Nanoseconds for `ticks` input clocks (rounded up, so the counter has moved).
uint64_t ns(uint64_t ticks) {
  return (ticks * 1'000'000'000 + Pit8254::kInputHz - 1) / Pit8254::kInputHz;
}

class PitTest : public ::testing::Test {
 protected:
  PitTest() : pit(std::make_shared<Pit8254>(irq, 0, clock)) {}

  void out(uint16_t port, uint8_t v) { pit->write_port(port, v); }
  uint8_t in(uint16_t port) { return pit->read_port(port); }
  void load(int counter, uint8_t control, uint16_t count) {
    out(0x43, control);
    out(static_cast<uint16_t>(0x40 + counter), static_cast<uint8_t>(count));
    out(static_cast<uint16_t>(0x40 + counter), static_cast<uint8_t>(count >> 8));
  }
  uint16_t latch_and_read(int counter) {
    out(0x43, static_cast<uint8_t>(counter << 6));  // counter latch command
    uint8_t lsb = in(static_cast<uint16_t>(0x40 + counter));
    return static_cast<uint16_t>(lsb | in(static_cast<uint16_t>(0x40 + counter)) << 8);
  }
  bool out2() { return in(0x61) & 0x20; }
  int pulses() {
    std::lock_guard lock(irq.mu);
    int n = 0;
    for (auto& c : irq.calls) n += c.gsi == 0 && c.level;
    return n;
  }

  FakeIrqChip irq;
  FakeTimeSource clock;
  std::shared_ptr<Pit8254> pit;
};

TEST_F(PitTest, Mode2RateGeneratorInterruptsEveryPeriod) {
  load(0, 0x34, 1193);  // counter 0, LSB then MSB, mode 2: about 1 ms
  EXPECT_EQ(pulses(), 0);
  clock.advance(ns(100));
  EXPECT_EQ(latch_and_read(0), 1093);
  clock.advance(ns(1193) - ns(100) - 1);
  EXPECT_EQ(pulses(), 0);
  clock.advance(1);
  EXPECT_EQ(pulses(), 1);
  EXPECT_FALSE(irq.level(0));  // a pulse: raised, then lowered
  clock.advance(ns(1193 * 5));
  EXPECT_EQ(pulses(), 6);
}

TEST_F(PitTest, Mode3SquareWaveOnOut2WithGate) {
  out(0x61, 0x01);      // gate 2 on, speaker off
  load(2, 0xB6, 1000);  // counter 2, mode 3
  clock.advance(ns(250));
  EXPECT_TRUE(out2());
  EXPECT_EQ(latch_and_read(2), 500);  // counts down by two
  clock.advance(ns(750) - ns(250));
  EXPECT_FALSE(out2());
  clock.advance(ns(1250) - ns(750));
  EXPECT_TRUE(out2());
  out(0x61, 0x00);  // gate low: counting stops, OUT high
  EXPECT_TRUE(out2());
  EXPECT_EQ(pulses(), 0);  // counter 2 has no interrupt
}

TEST_F(PitTest, Mode0TerminalCountOnOut2AndGatePauses) {
  out(0x61, 0x01);
  load(2, 0xB0, 1000);  // mode 0, as Linux's PIT calibration does
  EXPECT_FALSE(out2());
  clock.advance(ns(400));
  out(0x61, 0x00);  // gate low pauses mode 0
  clock.advance(ns(5000));
  EXPECT_FALSE(out2());
  EXPECT_EQ(latch_and_read(2), 600);
  out(0x61, 0x01);
  clock.advance(ns(599));
  EXPECT_FALSE(out2());
  clock.advance(ns(2));
  EXPECT_TRUE(out2());
  clock.advance(ns(10));
  EXPECT_GE(latch_and_read(2), 0xFFF0);  // wrapped past zero and goes on counting
}

TEST_F(PitTest, Mode0InterruptLineStaysHighUntilReprogrammed) {
  load(0, 0x30, 500);
  clock.advance(ns(499));
  EXPECT_FALSE(irq.level(0));
  clock.advance(ns(2));
  EXPECT_TRUE(irq.level(0));
  clock.advance(ns(100'000));
  EXPECT_EQ(pulses(), 1);
  out(0x43, 0x30);
  EXPECT_FALSE(irq.level(0));
}

TEST_F(PitTest, Mode4StrobeOnce) {
  load(0, 0x38, 300);
  clock.advance(ns(100'000));
  EXPECT_EQ(pulses(), 1);
  EXPECT_FALSE(irq.level(0));
}

TEST_F(PitTest, Mode1TriggeredByGateOnCounter2) {
  load(2, 0xB2, 100);  // mode 1
  EXPECT_TRUE(out2());
  clock.advance(ns(500));
  EXPECT_TRUE(out2());  // no trigger yet
  out(0x61, 0x01);      // rising gate edge
  clock.advance(ns(50));
  EXPECT_FALSE(out2());
  clock.advance(ns(60));
  EXPECT_TRUE(out2());
}

TEST_F(PitTest, ReadBackLatchesStatusThenCount) {
  out(0x43, 0x34);
  uint8_t status_before;
  out(0x43, 0xE2);  // read-back: status only, counter 0
  status_before = in(0x40);
  EXPECT_EQ(status_before, 0x80 | 0x40 | 0x34);  // OUT high, null count, LSB/MSB, mode 2
  out(0x40, 0xE8);
  out(0x40, 0x03);  // 1000
  clock.advance(ns(10));
  out(0x43, 0xC2);         // count and status of counter 0
  clock.advance(ns(300));  // latched values do not move
  EXPECT_EQ(in(0x40), 0x80 | 0x34);
  uint8_t lsb = in(0x40);
  uint8_t msb = in(0x40);
  EXPECT_EQ(lsb | msb << 8, 990);
  EXPECT_EQ(latch_and_read(0), 690);  // live again after the latch was read
}

TEST_F(PitTest, LatchHoldsUntilRead) {
  load(0, 0x34, 1000);
  out(0x43, 0x00);
  clock.advance(ns(200));
  out(0x43, 0x00);  // a second latch before reading is ignored
  EXPECT_EQ(in(0x40) | in(0x40) << 8, 1000);
}

TEST_F(PitTest, LsbOnlyAndMsbOnlyAccess) {
  out(0x43, 0x14);  // counter 0, LSB only, mode 2
  out(0x40, 200);
  clock.advance(ns(50));
  EXPECT_EQ(in(0x40), 150);
  out(0x43, 0x24);  // MSB only
  out(0x40, 0x02);  // count 0x200
  clock.advance(ns(0x100));
  EXPECT_EQ(in(0x40), 0x01);
}

TEST_F(PitTest, BcdCounting) {
  load(0, 0x35, 0x1000);  // mode 2, BCD 1000
  clock.advance(ns(1));
  EXPECT_EQ(latch_and_read(0), 0x0999);
}

TEST_F(PitTest, CountZeroMeans65536) {
  load(0, 0x34, 0);
  clock.advance(ns(1));
  EXPECT_EQ(latch_and_read(0), 0xFFFF);
  clock.advance(ns(65536) - ns(1) + 1);
  EXPECT_EQ(pulses(), 1);
}

TEST_F(PitTest, PortBBits) {
  out(0x61, 0xFF);
  uint8_t v = in(0x61);
  EXPECT_EQ(v & 0x0F, 0x0F);
  EXPECT_EQ(v & 0xC0, 0x00);
  bool refresh = in(0x61) & 0x10;
  clock.advance(15'085);
  EXPECT_NE(static_cast<bool>(in(0x61) & 0x10), refresh);
  EXPECT_EQ(in(0x43), 0xFF);  // the control word cannot be read
}

TEST_F(PitTest, TinyPeriodsAreRateLimited) {
  load(0, 0x34, 2);  // 1.7 us
  clock.advance(1'000'000);
  EXPECT_GE(pulses(), 10);
  EXPECT_LE(pulses(), 1'000'000 / static_cast<int>(Pit8254::kMinPeriodNs) + 1);
}

TEST_F(PitTest, ReprogrammingStopsThePreviousSchedule) {
  load(0, 0x34, 1193);
  out(0x43, 0x34);  // new control word: counter waits for a count
  clock.advance(ns(10'000));
  EXPECT_EQ(pulses(), 0);
  EXPECT_EQ(clock.armed(), 0u);
}

TEST_F(PitTest, GuestGarbageDoesNotCrash) {
  for (int i = 0; i < 4096; i++) {
    out(static_cast<uint16_t>(0x40 + i % 4), static_cast<uint8_t>(i * 37));
    in(static_cast<uint16_t>(0x40 + (i / 3) % 4));
    if (i % 64 == 0) clock.advance(1000);
  }
  SUCCEED();
}

}  // namespace
}  // namespace vessel

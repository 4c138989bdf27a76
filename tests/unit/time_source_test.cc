// EventLoopTimeSource: one-shot host timers on a running EventLoop.
#include "base/time_source.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "base/event_loop.h"

namespace vessel {
namespace {

class TimeSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = EventLoop::create();
    ASSERT_TRUE(l.ok());
    loop = std::move(*l);
    thread = std::thread([this] { loop->run(); });
    time = std::make_unique<EventLoopTimeSource>(*loop);
  }
  void TearDown() override {
    loop->stop();
    thread.join();
    time.reset();
  }
  // Waits up to a second for `flag`.
  static bool wait_for(const std::atomic<int>& value, int want) {
    for (int i = 0; i < 1000 && value.load() < want; i++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return value.load() >= want;
  }

  std::unique_ptr<EventLoop> loop;
  std::thread thread;
  std::unique_ptr<EventLoopTimeSource> time;
};

TEST_F(TimeSourceTest, ClockIsMonotonic) {
  uint64_t a = time->now_ns();
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  uint64_t b = time->now_ns();
  EXPECT_GE(b - a, 2'000'000u);
}

TEST_F(TimeSourceTest, TimerFiresOnceNotBeforeItsDeadline) {
  std::atomic<int> fired{0};
  std::atomic<uint64_t> when{0};
  uint64_t deadline = time->now_ns() + 3'000'000;
  time->arm(deadline, [&] {
    when = time->now_ns();
    fired++;
  });
  ASSERT_TRUE(wait_for(fired, 1));
  EXPECT_GE(when.load(), deadline);
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(fired.load(), 1);
}

TEST_F(TimeSourceTest, PastDeadlineFiresSoonAndCancelStopsATimer) {
  std::atomic<int> fired{0}, cancelled{0};
  auto id = time->arm(time->now_ns() + 20'000'000, [&] { cancelled++; });
  time->arm(0, [&] { fired++; });
  time->cancel(id);
  time->cancel(12345);  // unknown: ignored
  ASSERT_TRUE(wait_for(fired, 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  EXPECT_EQ(cancelled.load(), 0);
}

TEST_F(TimeSourceTest, CallbackMayArmTheNextTimer) {
  std::atomic<int> fired{0};
  std::function<void()> tick = [&] {
    if (++fired < 5) time->arm(time->now_ns() + 100'000, tick);
  };
  time->arm(time->now_ns(), tick);
  EXPECT_TRUE(wait_for(fired, 5));
}

// Timers armed and cancelled from another thread while the loop is busy with
// expired ones (as a vCPU rewriting its TSC deadline does): every timer left
// armed fires. The loop's timer ids used to be timerfd numbers, closed by
// cancel() and handed out again at once, so a callback of a cancelled timer
// that was already on its way could read, and swallow, the expiry of the
// next timer given the same number.
TEST_F(TimeSourceTest, TimersLeftArmedFireWhateverWasCancelledMeanwhile) {
  constexpr int kRounds = 3000;
  std::atomic<int> kept_fired{0};
  for (int round = 0; round < kRounds; round++) {
    // Expired at once, so the loop is busy calling it when it is cancelled.
    auto doomed = time->arm(0, [] {});
    if (round % 2) std::this_thread::yield();
    time->cancel(doomed);
    time->arm(0, [&] { kept_fired++; });
    if (round % 64 == 0) {
      ASSERT_TRUE(wait_for(kept_fired, round + 1)) << "round " << round;
    }
  }
  ASSERT_TRUE(wait_for(kept_fired, kRounds)) << kept_fired.load() << " of " << kRounds << " fired";
}

}  // namespace
}  // namespace vessel

// Time for the emulated timers (LAPIC timer, TSC deadline, 8254 PIT): a
// monotonic clock in nanoseconds and one-shot host timer callbacks. The VM
// uses EventLoopTimeSource (CLOCK_MONOTONIC, callbacks on the event-loop
// thread); unit tests use a fake whose clock they advance by hand.
//
// A callback may run after cancel() returned (it may already be queued or
// running on the timer thread), so every user must recognise a stale callback
// itself (the models here keep a generation number per timer).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "base/error.h"

namespace vessel {

class EventLoop;

class TimeSource {
 public:
  using TimerId = uint64_t;  // never 0
  static constexpr TimerId kNoTimer = 0;

  virtual ~TimeSource() = default;
  // Monotonic nanoseconds since an arbitrary epoch.
  virtual uint64_t now_ns() = 0;
  // Calls `fn` once, on the timer thread, at or after `deadline_ns`. A deadline
  // in the past fires as soon as possible. Never calls `fn` from inside arm().
  virtual TimerId arm(uint64_t deadline_ns, std::function<void()> fn) = 0;
  // Stops a timer armed by arm(); unknown or fired ids are ignored. Does not
  // wait for a callback already running.
  virtual void cancel(TimerId id) = 0;
};

// CLOCK_MONOTONIC and one-shot timers on an EventLoop. Thread-safe.
class EventLoopTimeSource final : public TimeSource {
 public:
  explicit EventLoopTimeSource(EventLoop& loop) : loop_(loop) {}
  ~EventLoopTimeSource() override;

  uint64_t now_ns() override;
  TimerId arm(uint64_t deadline_ns, std::function<void()> fn) override;
  void cancel(TimerId id) override;

 private:
  EventLoop& loop_;
  std::mutex mu_;  // guards next_id_ and timers_
  TimerId next_id_ = 1;
  std::map<TimerId, uint64_t> timers_;  // our id -> the loop's timer id (EventLoop::TimerId)
};

// Reads CLOCK_MONOTONIC in nanoseconds.
uint64_t monotonic_now_ns();

}  // namespace vessel

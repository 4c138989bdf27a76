// A TimeSource whose clock tests move by hand: advance() fires the timers
// that fall due, in deadline order, each with the clock at its deadline.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

#include "base/time_source.h"

namespace vessel::testing {

class FakeTimeSource : public TimeSource {
 public:
  uint64_t now_ns() override {
    std::lock_guard lock(mu_);
    return now_;
  }
  TimerId arm(uint64_t deadline_ns, std::function<void()> fn) override {
    std::lock_guard lock(mu_);
    TimerId id = next_id_++;
    timers_[id] = Timer{deadline_ns, std::move(fn)};
    return id;
  }
  void cancel(TimerId id) override {
    std::lock_guard lock(mu_);
    timers_.erase(id);
  }
  // Moves the clock forward by `ns`, running due callbacks (outside the lock,
  // so they may arm and cancel).
  void advance(uint64_t ns) {
    std::unique_lock lock(mu_);
    uint64_t target = now_ + ns;
    for (;;) {
      auto due = timers_.end();
      for (auto it = timers_.begin(); it != timers_.end(); ++it) {
        if (it->second.deadline <= target &&
            (due == timers_.end() || it->second.deadline < due->second.deadline)) {
          due = it;
        }
      }
      if (due == timers_.end()) break;
      if (due->second.deadline > now_) now_ = due->second.deadline;
      std::function<void()> fn = std::move(due->second.fn);
      timers_.erase(due);
      lock.unlock();
      fn();
      lock.lock();
    }
    now_ = target;
  }
  size_t armed() {
    std::lock_guard lock(mu_);
    return timers_.size();
  }

 private:
  struct Timer {
    uint64_t deadline;
    std::function<void()> fn;
  };
  std::mutex mu_;
  uint64_t now_ = 1'000'000'000;  // not zero: catches code that assumes the epoch
  TimerId next_id_ = 1;
  std::map<TimerId, Timer> timers_;
};

}  // namespace vessel::testing

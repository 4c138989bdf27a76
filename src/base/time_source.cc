#include "base/time_source.h"

#include <time.h>

#include "base/event_loop.h"
#include "base/log.h"

namespace vessel {

uint64_t monotonic_now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

EventLoopTimeSource::~EventLoopTimeSource() {
  std::lock_guard lock(mu_);
  for (auto& [id, loop_id] : timers_) loop_.remove_timer(loop_id);
}

uint64_t EventLoopTimeSource::now_ns() {
  return monotonic_now_ns();
}

TimeSource::TimerId EventLoopTimeSource::arm(uint64_t deadline_ns, std::function<void()> fn) {
  std::lock_guard lock(mu_);
  TimerId id = next_id_++;
  uint64_t now = now_ns();
  auto delay = std::chrono::nanoseconds(deadline_ns > now ? deadline_ns - now : 1);
  // A fired one-shot timer is removed here, on the loop thread, before the
  // callback runs.
  auto loop_id = loop_.add_timer(delay, false, [this, id, fn = std::move(fn)] {
    {
      std::lock_guard inner(mu_);
      auto it = timers_.find(id);
      if (it == timers_.end()) return;  // cancelled
      loop_.remove_timer(it->second);
      timers_.erase(it);
    }
    fn();
  });
  if (!loop_id.ok()) {
    // The guest's timer will not fire: say so rather than crash; the guest
    // sees a lost timer interrupt.
    log_error("cannot arm a guest timer: {}", loop_id.error().message);
    return id;
  }
  timers_[id] = *loop_id;
  return id;
}

void EventLoopTimeSource::cancel(TimerId id) {
  std::lock_guard lock(mu_);
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  loop_.remove_timer(it->second);
  timers_.erase(it);
}

}  // namespace vessel

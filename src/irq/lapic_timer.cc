// The local APIC timer (one-shot, periodic, TSC-deadline) and the guest TSC.
#include <limits>

#include "irq/lapic.h"

namespace vessel {
namespace {

constexpr uint32_t kModeOneShot = 0, kModePeriodic = 1, kModeTscDeadline = 2;
constexpr uint64_t kNsPerSecond = 1'000'000'000;
constexpr uint64_t kNsPerTick = kNsPerSecond / Lapic::kBusHz;
constexpr uint32_t kLvtMasked = 1u << 16;

}  // namespace

uint32_t Lapic::timer_mode_locked() const {
  return (lvt_[0] >> 17) & 3;
}

uint64_t Lapic::divisor_locked() const {
  // Divide configuration bits 3, 1, 0: 0b111 divides by 1, else by 2 << value.
  uint32_t v = (timer_divide_ & 3) | ((timer_divide_ >> 1) & 4);
  return v == 7 ? 1 : uint64_t{2} << v;
}

void Lapic::timer_stop_locked() {
  timer_running_ = false;
  timer_generation_++;  // a callback already queued is now stale
  if (timer_id_ != TimeSource::kNoTimer) time_.cancel(timer_id_);
  timer_id_ = TimeSource::kNoTimer;
}

void Lapic::timer_arm_locked(uint64_t deadline_ns) {
  if (timer_id_ != TimeSource::kNoTimer) time_.cancel(timer_id_);
  uint64_t generation = ++timer_generation_;
  timer_deadline_ns_ = deadline_ns;
  timer_id_ = time_.arm(deadline_ns, [this, generation] { on_timer(generation); });
}

void Lapic::timer_start_locked() {
  timer_stop_locked();
  if (timer_initial_ == 0) return;  // a zero initial count stops the timer
  uint64_t now = time_.now_ns();
  timer_period_ns_ = uint64_t{timer_initial_} * divisor_locked() * kNsPerTick;
  if (timer_mode_locked() == kModePeriodic && timer_period_ns_ < kMinPeriodNs) {
    timer_period_ns_ = kMinPeriodNs;
  }
  timer_start_ns_ = now;
  timer_running_ = true;
  timer_arm_locked(now + timer_period_ns_);
}

void Lapic::on_timer(uint64_t generation) {
  std::lock_guard lock(mu_);
  if (generation != timer_generation_) return;  // cancelled or re-armed since
  timer_id_ = TimeSource::kNoTimer;
  timer_fire_locked();
}

void Lapic::timer_fire_locked() {
  uint32_t entry = lvt_[0];
  if (!(entry & kLvtMasked)) accept_locked(ApicMessage{.vector = static_cast<uint8_t>(entry)});
  switch (timer_mode_locked()) {
    case kModePeriodic: {
      if (!timer_running_) break;
      uint64_t next = timer_deadline_ns_ + timer_period_ns_;
      uint64_t now = time_.now_ns();
      if (next <= now) next += ((now - next) / timer_period_ns_ + 1) * timer_period_ns_;  // missed
      timer_start_ns_ = next - timer_period_ns_;
      timer_arm_locked(next);
      break;
    }
    case kModeTscDeadline:
      tsc_deadline_ = 0;
      break;
    default:
      timer_running_ = false;
      break;
  }
  refresh_locked();
}

uint32_t Lapic::timer_current_count_locked() {
  if (!timer_running_ || timer_mode_locked() == kModeTscDeadline) return 0;
  uint64_t elapsed = time_.now_ns() - timer_start_ns_;
  if (elapsed >= timer_period_ns_) {
    if (timer_mode_locked() != kModePeriodic) return 0;
    elapsed %= timer_period_ns_;
  }
  uint64_t tick_ns = divisor_locked() * kNsPerTick;
  uint64_t count = (timer_period_ns_ - elapsed + tick_ns - 1) / tick_ns;
  return count > timer_initial_ ? timer_initial_ : static_cast<uint32_t>(count);
}

uint64_t Lapic::tsc_at_locked(uint64_t ns) const {
  unsigned __int128 ticks = static_cast<unsigned __int128>(ns) * tsc_hz_ / kNsPerSecond;
  return static_cast<uint64_t>(ticks) + static_cast<uint64_t>(tsc_offset_);
}

uint64_t Lapic::ns_at_tsc_locked(uint64_t tsc) const {
  // The first nanosecond at which the TSC reads `tsc` or more.
  uint64_t ticks = tsc - static_cast<uint64_t>(tsc_offset_);  // modulo 2^64, like the TSC
  unsigned __int128 ns =
      (static_cast<unsigned __int128>(ticks) * kNsPerSecond + tsc_hz_ - 1) / tsc_hz_;
  return ns > std::numeric_limits<uint64_t>::max() ? std::numeric_limits<uint64_t>::max()
                                                   : static_cast<uint64_t>(ns);
}

void Lapic::write_tsc_deadline_locked(uint64_t tsc) {
  if (timer_mode_locked() != kModeTscDeadline) return;  // ignored in the other modes
  timer_stop_locked();
  tsc_deadline_ = tsc;
  if (tsc == 0) return;  // disarm
  uint64_t now = time_.now_ns();
  if (tsc_at_locked(now) >= tsc) {
    timer_fire_locked();
  } else {
    timer_arm_locked(ns_at_tsc_locked(tsc));
  }
}

uint64_t Lapic::tsc_now() {
  std::lock_guard lock(mu_);
  return tsc_at_locked(time_.now_ns());
}

void Lapic::set_tsc_offset(int64_t offset) {
  std::lock_guard lock(mu_);
  tsc_offset_ = offset;
  if (timer_mode_locked() == kModeTscDeadline && tsc_deadline_ != 0) {
    write_tsc_deadline_locked(tsc_deadline_);
  }
}

}  // namespace vessel

#include "accel/soft/kvmclock.h"

#include <time.h>

#include <atomic>
#include <cstring>

namespace vessel {
namespace {

constexpr uint8_t kTscStableBit = 1;

void put32(uint8_t* p, uint32_t v) {
  std::memcpy(p, &v, 4);
}
void put64(uint8_t* p, uint64_t v) {
  std::memcpy(p, &v, 8);
}

}  // namespace

void KvmClock::write_msr(uint32_t index, uint64_t value, uint64_t now_ns, uint64_t tsc) {
  if (index == kMsrWallClock) {
    wall_clock_msr_ = value;
    uint8_t* p = memory_.host_ptr(value, 12);
    if (!p) return;
    // Wall time at system time 0 = now (realtime) - time since boot.
    timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    uint64_t real_ns =
        static_cast<uint64_t>(rt.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(rt.tv_nsec);
    uint64_t boot_wall = real_ns - (now_ns - boot_ns_);
    put32(p, 2);  // version: even, stable
    put32(p + 4, static_cast<uint32_t>(boot_wall / 1'000'000'000ull));
    put32(p + 8, static_cast<uint32_t>(boot_wall % 1'000'000'000ull));
    memory_.note_write(value, 12);
    return;
  }
  system_time_msr_ = value;
  if (value & 1) publish(now_ns, tsc);
}

void KvmClock::tsc_changed(uint64_t now_ns, uint64_t tsc) {
  if (system_time_msr_ & 1) publish(now_ns, tsc);
}

void KvmClock::publish(uint64_t now_ns, uint64_t tsc) {
  uint8_t* p = memory_.host_ptr(system_time_msr_ & ~1ull, 32);
  if (!p) return;
  // The update protocol: odd version while the fields change, then even.
  put32(p, ++version_ | 1);
  std::atomic_thread_fence(std::memory_order_release);
  put32(p + 4, 0);
  put64(p + 8, tsc);                 // tsc_timestamp
  put64(p + 16, now_ns - boot_ns_);  // system_time
  put32(p + 24, 0x80000000u);        // tsc_to_system_mul: (delta << 1) * 2^31 >> 32 = delta
  p[28] = 1;                         // tsc_shift
  p[29] = kTscStableBit;             // flags
  p[30] = p[31] = 0;
  std::atomic_thread_fence(std::memory_order_release);
  version_ = (version_ | 1) + 1;
  put32(p, version_);
  memory_.note_write(system_time_msr_ & ~1ull, 32);
}

}  // namespace vessel

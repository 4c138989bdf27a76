// The KVM paravirtual clock for the soft accelerator: the MSRs of KVM's
// CPUID feature CLOCKSOURCE2 (MSR_KVM_WALL_CLOCK_NEW 0x4b564d00,
// MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01) and the structures they point at, as the
// kernel's Documentation/virt/kvm/x86/msr.rst describes them:
//   pvclock_wall_clock    { u32 version; u32 sec; u32 nsec; }  (wall time at system time 0)
//   pvclock_vcpu_time_info{ u32 version; u32 pad; u64 tsc_timestamp;
//                           u64 system_time; u32 tsc_to_system_mul;
//                           s8 tsc_shift; u8 flags; u8 pad[2]; }
// The soft CPU's TSC runs at 1 GHz from the host's monotonic clock (see
// irq/lapic.h), so the scale is exactly 1 (mul 2^31, shift 1) and the
// structure, once written, stays true until the guest writes IA32_TSC; it
// carries PVCLOCK_TSC_STABLE_BIT. One KvmClock per vCPU.
#pragma once

#include <cstdint>

#include "memory/guest_memory.h"

namespace vessel {

class KvmClock {
 public:
  static constexpr uint32_t kMsrWallClock = 0x4b564d00;
  static constexpr uint32_t kMsrSystemTime = 0x4b564d01;
  // CPUID 0x40000001 EAX bits this implements: CLOCKSOURCE2 and
  // CLOCKSOURCE_STABLE_BIT.
  static constexpr uint32_t kCpuidFeatures = (1u << 3) | (1u << 24);

  // `boot_ns`: the monotonic time that is guest system time 0.
  KvmClock(const GuestMemory& memory, uint64_t boot_ns) : memory_(memory), boot_ns_(boot_ns) {}

  static bool handles_msr(uint32_t index) {
    return index == kMsrWallClock || index == kMsrSystemTime;
  }
  uint64_t read_msr(uint32_t index) const {
    return index == kMsrWallClock ? wall_clock_msr_ : system_time_msr_;
  }
  // `now_ns`: host monotonic time; `tsc`: the guest TSC at that moment. A
  // structure outside guest RAM is not written (the MSR keeps its value).
  void write_msr(uint32_t index, uint64_t value, uint64_t now_ns, uint64_t tsc);
  // The guest changed its TSC: rewrite the time structure if enabled.
  void tsc_changed(uint64_t now_ns, uint64_t tsc);

 private:
  void publish(uint64_t now_ns, uint64_t tsc);

  const GuestMemory& memory_;
  uint64_t boot_ns_;
  uint64_t wall_clock_msr_ = 0;
  uint64_t system_time_msr_ = 0;
  uint32_t version_ = 0;
};

}  // namespace vessel

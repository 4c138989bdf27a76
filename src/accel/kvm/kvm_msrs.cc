#include "accel/kvm/kvm_msrs.h"

#include <algorithm>

namespace vessel::kvm {
namespace {

// Sorted by index.
constexpr uint32_t kWanted[] = {
    kMsrTsc,  // IA32_TIME_STAMP_COUNTER
    0x11,     // MSR_KVM_WALL_CLOCK (old kvmclock)
    0x12,     // MSR_KVM_SYSTEM_TIME (old kvmclock)
    0x3B,     // IA32_TSC_ADJUST
    0x140,    // MISC_FEATURES_ENABLES (CPUID faulting)
    0x174,    // IA32_SYSENTER_CS
    0x175,    // IA32_SYSENTER_ESP
    0x176,    // IA32_SYSENTER_EIP
    0x1A0,    // IA32_MISC_ENABLE
    0x277,    // IA32_PAT
    kMsrTscDeadline,
    0x4b564d00,  // MSR_KVM_WALL_CLOCK_NEW
    0x4b564d01,  // MSR_KVM_SYSTEM_TIME_NEW
    0x4b564d02,  // MSR_KVM_ASYNC_PF_EN
    0x4b564d03,  // MSR_KVM_STEAL_TIME
    0x4b564d04,  // MSR_KVM_PV_EOI_EN
    0x4b564d05,  // MSR_KVM_POLL_CONTROL
    0x4b564d06,  // MSR_KVM_ASYNC_PF_INT
    0xC0000081,  // STAR
    0xC0000082,  // LSTAR
    0xC0000083,  // CSTAR
    0xC0000084,  // SFMASK
    0xC0000102,  // KERNEL_GS_BASE
    0xC0000103,  // TSC_AUX
};

}  // namespace

std::span<const uint32_t> wanted_msrs() {
  return kWanted;
}

std::vector<uint32_t> select_saved_msrs(std::span<const uint32_t> kvm_index_list) {
  std::vector<uint32_t> out;
  for (uint32_t msr : kWanted) {
    if (std::find(kvm_index_list.begin(), kvm_index_list.end(), msr) != kvm_index_list.end()) {
      out.push_back(msr);
    }
  }
  return out;
}

}  // namespace vessel::kvm

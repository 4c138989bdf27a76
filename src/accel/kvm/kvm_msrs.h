// Which MSRs a KVM vCPU's CpuState carries: the ones that matter for saving
// and restoring a running guest (SYSCALL/SYSENTER, PAT, TSC, kvmclock, ...),
// limited to those KVM lists in KVM_GET_MSR_INDEX_LIST. Pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace vessel::kvm {

inline constexpr uint32_t kMsrTsc = 0x10;
inline constexpr uint32_t kMsrTscDeadline = 0x6E0;

// The MSRs Vessel would save, in index order.
std::span<const uint32_t> wanted_msrs();

// wanted_msrs() that appear in `kvm_index_list`, sorted by index.
std::vector<uint32_t> select_saved_msrs(std::span<const uint32_t> kvm_index_list);

}  // namespace vessel::kvm

// The CPUID table a KVM vCPU presents: what KVM supports, plus the
// hypervisor bit, per-vCPU APIC IDs and the KVM paravirt leaves (kvmclock).
// Pure functions over kvm_cpuid_entry2, testable without /dev/kvm.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <span>
#include <vector>

namespace vessel::kvm {

inline constexpr uint32_t kCpuidKvmSignature = 0x40000000;
inline constexpr uint32_t kCpuidKvmFeatures = 0x40000001;

// Paravirt features Vessel advertises in 0x40000001 EAX when KVM's own table
// reports them (kvmclock, no I/O delay, PV EOI, PV unhalt).
uint32_t wanted_kvm_pv_features();
// kvmclock features advertised even when KVM reports no 0x40000001 leaf.
uint32_t base_kvm_pv_features();

// Builds vCPU `apic_id`'s table from KVM_GET_SUPPORTED_CPUID's `supported`.
std::vector<kvm_cpuid_entry2> make_guest_cpuid(std::span<const kvm_cpuid_entry2> supported,
                                               uint32_t apic_id);

// The entry for (function, index) in `table`, or nullptr.
const kvm_cpuid_entry2* find_cpuid(std::span<const kvm_cpuid_entry2> table, uint32_t function,
                                   uint32_t index = 0);

}  // namespace vessel::kvm

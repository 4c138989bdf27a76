// The CPUID table of the software CPU: advertises only what it implements,
// plus the hypervisor bit and the KVM paravirt signature leaves.
#pragma once

#include <cstdint>

namespace vessel::cpu {

struct CpuidResult {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

CpuidResult cpuid(uint32_t leaf, uint32_t subleaf, uint32_t apic_id);

// Leaf 1 ECX bit the CPUID instruction sets while CR4.OSXSAVE is set.
inline constexpr uint32_t kCpuidOsxsave = 1u << 27;

}  // namespace vessel::cpu

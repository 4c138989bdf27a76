// The CPUID table of the software CPU: advertises only what it implements,
// plus the hypervisor bit and the KVM paravirt signature leaves.
#pragma once

#include <cstdint>

namespace vessel::cpu {

struct CpuidResult {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

CpuidResult cpuid(uint32_t leaf, uint32_t subleaf, uint32_t apic_id);

}  // namespace vessel::cpu

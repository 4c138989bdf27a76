// The CPUID table of the software CPU: advertises only what it implements,
// plus the hypervisor bit and the KVM paravirt signature leaves.
#pragma once

#include <cstdint>

namespace vessel::cpu {

struct CpuidResult {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

CpuidResult cpuid(uint32_t leaf, uint32_t subleaf, uint32_t apic_id);

// IA32_ARCH_CAPABILITIES (MSR 0x10A, enumerated by leaf 7 EDX bit 29). The
// software CPU executes nothing speculatively, so it is immune to every
// speculative-execution and sampling attack the register has a bit for:
// RDCL_NO (0), IBRS_ALL (1: enhanced IBRS, so no retpolines), SSB_NO (4),
// MDS_NO (5), IF_PSCHANGE_MC_NO (6), TAA_NO (8), SBDR_SSDP_NO (13),
// FBSDP_NO (14), PSDP_NO (15), BHI_NO (20), PBRSB_NO (24), GDS_NO (26),
// RFDS_NO (27), ITS_NO (62). Without them a guest that sees the hypervisor
// bit assumes the worst and turns on retpolines, return thunks and buffer
// clearing for nothing.
inline constexpr uint64_t kArchCapabilities =
    (1ull << 0) | (1ull << 1) | (1ull << 4) | (1ull << 5) | (1ull << 6) | (1ull << 8) |
    (1ull << 13) | (1ull << 14) | (1ull << 15) | (1ull << 20) | (1ull << 24) | (1ull << 26) |
    (1ull << 27) | (1ull << 62);
// IA32_SPEC_CTRL bits that may be set: IBRS (bit 0, leaf 7 EDX bit 26) and
// BHI_DIS_S (bit 10, leaf 7 subleaf 2 EDX bit 4). They are stored and read
// back; with no speculation they have nothing to restrict.
inline constexpr uint64_t kSpecCtrlWritable = 1 | (1ull << 10);

// Leaf 1 ECX bit the CPUID instruction sets while CR4.OSXSAVE is set.
inline constexpr uint32_t kCpuidOsxsave = 1u << 27;

}  // namespace vessel::cpu

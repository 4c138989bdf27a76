#include "cpu/exec/cpuid.h"

#include <cstring>

namespace vessel::cpu {
namespace {

constexpr uint32_t kMaxBasic = 0xD;
constexpr uint32_t kMaxExtended = 0x80000008;

// Leaf 1 EDX: DE, PSE, TSC, MSR, PAE, PGE, CMOV, PAT, PSE-36, CLFSH.
constexpr uint32_t kLeaf1Edx = (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) |
                               (1u << 13) | (1u << 15) | (1u << 16) | (1u << 17) | (1u << 19);
// Leaf 1 EDX: FPU (x87) and FXSR (FXSAVE/FXRSTOR, CR4.OSFXSR).
constexpr uint32_t kLeaf1EdxX87 = (1u << 0) | (1u << 24);
// Leaf 1 ECX: XSAVE (OSXSAVE, bit 27, mirrors CR4 and is added by the CPUID
// instruction). Leaf 0xD: components x87 and SSE, a 576-byte area, XSAVEOPT.
constexpr uint32_t kLeaf1EcxXsave = 1u << 26;
constexpr uint32_t kXsaveComponents = 3, kXsaveAreaSize = 576, kLeafDSub1Xsaveopt = 1;
// Leaf 1 EDX: MMX (exec/mmx.cc), SSE, SSE2 (exec/sse*.cc).
constexpr uint32_t kLeaf1EdxMmxSse = (1u << 23) | (1u << 25) | (1u << 26);
// Leaf 1 ECX: SSE3, SSSE3, SSE4.1 and SSE4.2 (exec/sse3.cc, exec/ssse3.cc,
// exec/sse41_*.cc, exec/sse42.cc). MONITOR (bit 3) is not advertised:
// MONITOR/MWAIT raise #UD.
constexpr uint32_t kLeaf1EcxSse3To42 = (1u << 0) | (1u << 9) | (1u << 19) | (1u << 20);
constexpr uint32_t kLeaf1EcxHypervisor = 1u << 31;
// Integer extensions (exec/intops.cc): leaf 1 EDX CX8, SEP; ECX CX16, MOVBE,
// POPCNT; leaf 7 EBX BMI1, BMI2, ADX; 0x80000001 ECX ABM (LZCNT).
constexpr uint32_t kIntopsLeaf1Edx = (1u << 8) | (1u << 11);
constexpr uint32_t kIntopsLeaf1Ecx = (1u << 13) | (1u << 22) | (1u << 23);
constexpr uint32_t kIntopsLeaf7Ebx = (1u << 3) | (1u << 8) | (1u << 19);
constexpr uint32_t kIntopsExt1Ecx = 1u << 5;
// Leaf 7 EDX: IBRS/IBPB (bit 26: IA32_SPEC_CTRL and IA32_PRED_CMD) and
// IA32_ARCH_CAPABILITIES (bit 29); see kArchCapabilities in cpuid.h.
constexpr uint32_t kLeaf7EdxSpeculation = (1u << 26) | (1u << 29);
// Leaf 7 subleaf 2 EDX: BHI_CTRL (bit 4, IA32_SPEC_CTRL.BHI_DIS_S). Linux
// counts every virtualized CPU with enhanced IBRS as open to branch history
// injection whatever ARCH_CAPABILITIES says, and without this control it
// clears the branch history with a loop on every system call and interrupt
// (measured: 4.6% of the guest's instructions in a disk-latency loop); with
// it, it sets BHI_DIS_S once.
constexpr uint32_t kLeaf7Sub2EdxBhiCtrl = 1u << 4;
constexpr uint32_t kLeaf7MaxSubleaf = 2;
// 0x80000001 EDX: SYSCALL, NX, 1 GiB pages, RDTSCP, long mode. ECX: LAHF/SAHF in 64-bit mode.
constexpr uint32_t kExt1Edx = (1u << 11) | (1u << 20) | (1u << 26) | (1u << 27) | (1u << 29);
constexpr uint32_t kExt1Ecx = 1u << 0;

void put_string(const char* s, uint32_t* a, uint32_t* b, uint32_t* c) {
  std::memcpy(a, s, 4);
  std::memcpy(b, s + 4, 4);
  std::memcpy(c, s + 8, 4);
}

}  // namespace

CpuidResult cpuid(uint32_t leaf, uint32_t subleaf, uint32_t apic_id) {
  CpuidResult r;
  switch (leaf) {
    case 0:
      r.eax = kMaxBasic;
      put_string("GenuineIntel", &r.ebx, &r.edx, &r.ecx);
      break;
    case 1:
      r.eax = 0x00000663;                                // family 6, model 6, stepping 3
      r.ebx = (apic_id << 24) | (1u << 16) | (8u << 8);  // CLFLUSH line: 8 * 8 bytes
      r.ecx = kLeaf1EcxHypervisor | kIntopsLeaf1Ecx | kLeaf1EcxXsave | kLeaf1EcxSse3To42;
      r.edx = kLeaf1Edx | kIntopsLeaf1Edx | kLeaf1EdxX87 | kLeaf1EdxMmxSse;
      break;
    case 7:
      if (subleaf == 0) {
        r.eax = kLeaf7MaxSubleaf;
        r.ebx = kIntopsLeaf7Ebx;
        r.edx = kLeaf7EdxSpeculation;
      } else if (subleaf == 2) {
        r.edx = kLeaf7Sub2EdxBhiCtrl;
      }
      break;
    case 0xD:
      if (subleaf == 0) {
        r.eax = kXsaveComponents;
        r.ebx = kXsaveAreaSize;  // for the components enabled in XCR0: always the same here
        r.ecx = kXsaveAreaSize;
      } else if (subleaf == 1) {
        r.eax = kLeafDSub1Xsaveopt;
      }
      break;
    case 0x40000000:
      r.eax = 0x40000001;
      put_string("KVMKVMKVM\0\0\0", &r.ebx, &r.ecx, &r.edx);
      break;
    case 0x40000001:
      break;  // no paravirt features yet (kvmclock comes with the timers)
    case 0x80000000:
      r.eax = kMaxExtended;
      put_string("GenuineIntel", &r.ebx, &r.edx, &r.ecx);
      break;
    case 0x80000001:
      r.ecx = kExt1Ecx | kIntopsExt1Ecx;
      r.edx = kExt1Edx;
      break;
    case 0x80000002:
    case 0x80000003:
    case 0x80000004: {
      static const char kBrand[48] = "Vessel software x86-64 CPU";
      const char* p = kBrand + (leaf - 0x80000002) * 16;
      std::memcpy(&r.eax, p, 4);
      std::memcpy(&r.ebx, p + 4, 4);
      std::memcpy(&r.ecx, p + 8, 4);
      std::memcpy(&r.edx, p + 12, 4);
      break;
    }
    case 0x80000008:
      r.eax = 0x3028;  // 48-bit linear, 40-bit physical addresses
      break;
    default:
      break;  // leaves in range without features, and leaves out of range: zeros
  }
  return r;
}

}  // namespace vessel::cpu

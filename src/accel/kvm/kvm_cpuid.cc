#include "accel/kvm/kvm_cpuid.h"

#include <asm/kvm_para.h>

#include <cstring>

namespace vessel::kvm {
namespace {

constexpr uint32_t kHypervisorBit = 1u << 31;  // leaf 1 ECX

uint32_t bit(int n) {
  return 1u << n;
}

bool is_hypervisor_leaf(uint32_t function) {
  return (function & 0xFFFFFF00u) == 0x40000000u;
}

kvm_cpuid_entry2 make_entry(uint32_t function, uint32_t eax, uint32_t ebx, uint32_t ecx,
                            uint32_t edx) {
  kvm_cpuid_entry2 e{};
  e.function = function;
  e.eax = eax;
  e.ebx = ebx;
  e.ecx = ecx;
  e.edx = edx;
  return e;
}

}  // namespace

uint32_t base_kvm_pv_features() {
  return bit(KVM_FEATURE_CLOCKSOURCE) | bit(KVM_FEATURE_CLOCKSOURCE2) |
         bit(KVM_FEATURE_CLOCKSOURCE_STABLE_BIT);
}

uint32_t wanted_kvm_pv_features() {
  return base_kvm_pv_features() | bit(KVM_FEATURE_NOP_IO_DELAY) | bit(KVM_FEATURE_PV_EOI) |
         bit(KVM_FEATURE_PV_UNHALT);
}

const kvm_cpuid_entry2* find_cpuid(std::span<const kvm_cpuid_entry2> table, uint32_t function,
                                   uint32_t index) {
  for (const kvm_cpuid_entry2& e : table) {
    if (e.function != function) continue;
    if ((e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e.index != index) continue;
    return &e;
  }
  return nullptr;
}

std::vector<kvm_cpuid_entry2> make_guest_cpuid(std::span<const kvm_cpuid_entry2> supported,
                                               uint32_t apic_id) {
  std::vector<kvm_cpuid_entry2> out;
  out.reserve(supported.size() + 2);
  for (const kvm_cpuid_entry2& in : supported) {
    if (is_hypervisor_leaf(in.function)) continue;  // replaced below
    kvm_cpuid_entry2 e = in;
    switch (e.function) {
      case 1:
        e.ecx |= kHypervisorBit;
        e.ebx = (e.ebx & 0x00FFFFFFu) | ((apic_id & 0xFF) << 24);
        break;
      case 0xB:
      case 0x1F:
        e.edx = apic_id;  // x2APIC ID, the same at every level
        break;
      default:
        break;
    }
    out.push_back(e);
  }

  uint32_t features = base_kvm_pv_features();
  if (const kvm_cpuid_entry2* kvm_leaf = find_cpuid(supported, kCpuidKvmFeatures)) {
    features = wanted_kvm_pv_features() & kvm_leaf->eax;
  }
  uint32_t sig[3];
  std::memcpy(sig, "KVMKVMKVM\0\0\0", 12);
  out.push_back(make_entry(kCpuidKvmSignature, kCpuidKvmFeatures, sig[0], sig[1], sig[2]));
  out.push_back(make_entry(kCpuidKvmFeatures, features, 0, 0, 0));
  return out;
}

}  // namespace vessel::kvm

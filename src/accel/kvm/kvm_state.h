// Conversions between the portable CpuState and KVM's register structures.
// Pure functions, testable without /dev/kvm. What a KVM structure cannot
// carry (or CpuState cannot) is noted at each function.
#pragma once

#include <linux/kvm.h>

#include "accel/cpu_state.h"
#include "base/error.h"

namespace vessel::kvm {

// kvm_segment and Segment have the same meaning field for field (the limit is
// byte granular in both).
kvm_segment to_kvm(const Segment& s);
Segment from_kvm(const kvm_segment& s);

kvm_dtable to_kvm(const DescriptorTable& t);
DescriptorTable from_kvm(const kvm_dtable& t);

// General registers, RIP and RFLAGS.
kvm_regs regs_to_kvm(const CpuState& s);
void regs_from_kvm(const kvm_regs& r, CpuState& s);

// Segments, descriptor tables, control registers, EFER and APIC base. The
// interrupt bitmap is left empty: a pending interrupt travels in the vCPU
// events instead.
kvm_sregs sregs_to_kvm(const CpuState& s);
void sregs_from_kvm(const kvm_sregs& r, CpuState& s);

kvm_debugregs debugregs_to_kvm(const CpuState& s);
void debugregs_from_kvm(const kvm_debugregs& r, CpuState& s);

// Pending exception/interrupt/NMI and the interrupt shadow. CpuState keeps
// one bool for the shadow, so an STI and a MOV SS shadow both come back as
// an STI shadow; an NMI being injected comes back as an NMI pending.
kvm_vcpu_events events_to_kvm(const PendingEvents& e);
PendingEvents events_from_kvm(const kvm_vcpu_events& k);

uint32_t mp_state_to_kvm(MpState m);
// Fails for KVM states CpuState cannot hold (s390/SEV-only states).
Expected<MpState> mp_state_from_kvm(uint32_t k);

}  // namespace vessel::kvm

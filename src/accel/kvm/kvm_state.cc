#include "accel/kvm/kvm_state.h"

namespace vessel::kvm {

kvm_segment to_kvm(const Segment& s) {
  kvm_segment k{};
  k.base = s.base;
  k.limit = s.limit;
  k.selector = s.selector;
  k.type = s.type;
  k.present = s.present;
  k.dpl = s.dpl;
  k.db = s.db;
  k.s = s.s;
  k.l = s.l;
  k.g = s.g;
  k.avl = s.avl;
  k.unusable = s.unusable;
  return k;
}

Segment from_kvm(const kvm_segment& k) {
  Segment s;
  s.base = k.base;
  s.limit = k.limit;
  s.selector = k.selector;
  s.type = k.type;
  s.present = k.present;
  s.dpl = k.dpl;
  s.db = k.db;
  s.s = k.s;
  s.l = k.l;
  s.g = k.g;
  s.avl = k.avl;
  s.unusable = k.unusable;
  return s;
}

kvm_dtable to_kvm(const DescriptorTable& t) {
  kvm_dtable k{};
  k.base = t.base;
  k.limit = t.limit;
  return k;
}

DescriptorTable from_kvm(const kvm_dtable& k) {
  return DescriptorTable{k.base, k.limit};
}

kvm_regs regs_to_kvm(const CpuState& s) {
  kvm_regs r{};
  r.rax = s.gpr[kRax];
  r.rcx = s.gpr[kRcx];
  r.rdx = s.gpr[kRdx];
  r.rbx = s.gpr[kRbx];
  r.rsp = s.gpr[kRsp];
  r.rbp = s.gpr[kRbp];
  r.rsi = s.gpr[kRsi];
  r.rdi = s.gpr[kRdi];
  r.r8 = s.gpr[kR8];
  r.r9 = s.gpr[kR9];
  r.r10 = s.gpr[kR10];
  r.r11 = s.gpr[kR11];
  r.r12 = s.gpr[kR12];
  r.r13 = s.gpr[kR13];
  r.r14 = s.gpr[kR14];
  r.r15 = s.gpr[kR15];
  r.rip = s.rip;
  r.rflags = s.rflags;
  return r;
}

void regs_from_kvm(const kvm_regs& r, CpuState& s) {
  s.gpr[kRax] = r.rax;
  s.gpr[kRcx] = r.rcx;
  s.gpr[kRdx] = r.rdx;
  s.gpr[kRbx] = r.rbx;
  s.gpr[kRsp] = r.rsp;
  s.gpr[kRbp] = r.rbp;
  s.gpr[kRsi] = r.rsi;
  s.gpr[kRdi] = r.rdi;
  s.gpr[kR8] = r.r8;
  s.gpr[kR9] = r.r9;
  s.gpr[kR10] = r.r10;
  s.gpr[kR11] = r.r11;
  s.gpr[kR12] = r.r12;
  s.gpr[kR13] = r.r13;
  s.gpr[kR14] = r.r14;
  s.gpr[kR15] = r.r15;
  s.rip = r.rip;
  s.rflags = r.rflags;
}

kvm_sregs sregs_to_kvm(const CpuState& s) {
  kvm_sregs r{};
  r.cs = to_kvm(s.cs);
  r.ds = to_kvm(s.ds);
  r.es = to_kvm(s.es);
  r.fs = to_kvm(s.fs);
  r.gs = to_kvm(s.gs);
  r.ss = to_kvm(s.ss);
  r.tr = to_kvm(s.tr);
  r.ldt = to_kvm(s.ldt);
  r.gdt = to_kvm(s.gdt);
  r.idt = to_kvm(s.idt);
  r.cr0 = s.cr0;
  r.cr2 = s.cr2;
  r.cr3 = s.cr3;
  r.cr4 = s.cr4;
  r.cr8 = s.cr8;
  r.efer = s.efer;
  r.apic_base = s.apic_base;
  return r;
}

void sregs_from_kvm(const kvm_sregs& r, CpuState& s) {
  s.cs = from_kvm(r.cs);
  s.ds = from_kvm(r.ds);
  s.es = from_kvm(r.es);
  s.fs = from_kvm(r.fs);
  s.gs = from_kvm(r.gs);
  s.ss = from_kvm(r.ss);
  s.tr = from_kvm(r.tr);
  s.ldt = from_kvm(r.ldt);
  s.gdt = from_kvm(r.gdt);
  s.idt = from_kvm(r.idt);
  s.cr0 = r.cr0;
  s.cr2 = r.cr2;
  s.cr3 = r.cr3;
  s.cr4 = r.cr4;
  s.cr8 = r.cr8;
  s.efer = r.efer;
  s.apic_base = r.apic_base;
}

kvm_debugregs debugregs_to_kvm(const CpuState& s) {
  kvm_debugregs r{};
  for (int i = 0; i < 4; ++i) r.db[i] = s.dr[i];
  r.dr6 = s.dr6;
  r.dr7 = s.dr7;
  return r;
}

void debugregs_from_kvm(const kvm_debugregs& r, CpuState& s) {
  for (int i = 0; i < 4; ++i) s.dr[i] = r.db[i];
  s.dr6 = r.dr6;
  s.dr7 = r.dr7;
}

kvm_vcpu_events events_to_kvm(const PendingEvents& e) {
  kvm_vcpu_events k{};
  k.exception.injected = e.exception_pending;
  k.exception.nr = e.exception_vector;
  k.exception.has_error_code = e.exception_has_error_code;
  k.exception.error_code = e.exception_error_code;
  k.interrupt.injected = e.interrupt_pending;
  k.interrupt.nr = e.interrupt_vector;
  k.interrupt.soft = 0;
  k.interrupt.shadow = e.interrupt_shadow ? KVM_X86_SHADOW_INT_STI : 0;
  k.nmi.pending = e.nmi_pending;
  k.nmi.masked = e.nmi_masked;
  k.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
  return k;
}

PendingEvents events_from_kvm(const kvm_vcpu_events& k) {
  PendingEvents e;
  e.exception_pending = k.exception.injected || k.exception.pending;
  e.exception_vector = k.exception.nr;
  e.exception_has_error_code = k.exception.has_error_code;
  e.exception_error_code = k.exception.error_code;
  e.interrupt_pending = k.interrupt.injected;
  e.interrupt_vector = k.interrupt.nr;
  e.interrupt_shadow = k.interrupt.shadow != 0;
  e.nmi_pending = k.nmi.injected || k.nmi.pending;
  e.nmi_masked = k.nmi.masked;
  if (!e.exception_pending) {
    e.exception_vector = 0;
    e.exception_has_error_code = false;
    e.exception_error_code = 0;
  }
  if (!e.interrupt_pending) e.interrupt_vector = 0;
  return e;
}

uint32_t mp_state_to_kvm(MpState m) {
  switch (m) {
    case MpState::kRunnable:
      return KVM_MP_STATE_RUNNABLE;
    case MpState::kUninitialized:
      return KVM_MP_STATE_UNINITIALIZED;
    case MpState::kInitReceived:
      return KVM_MP_STATE_INIT_RECEIVED;
    case MpState::kHalted:
      return KVM_MP_STATE_HALTED;
    case MpState::kSipiReceived:
      return KVM_MP_STATE_SIPI_RECEIVED;
  }
  return KVM_MP_STATE_RUNNABLE;
}

Expected<MpState> mp_state_from_kvm(uint32_t k) {
  switch (k) {
    case KVM_MP_STATE_RUNNABLE:
      return MpState::kRunnable;
    case KVM_MP_STATE_UNINITIALIZED:
      return MpState::kUninitialized;
    case KVM_MP_STATE_INIT_RECEIVED:
      return MpState::kInitReceived;
    case KVM_MP_STATE_HALTED:
      return MpState::kHalted;
    case KVM_MP_STATE_SIPI_RECEIVED:
      return MpState::kSipiReceived;
    default:
      return make_error("KVM reported multiprocessing state {} that Vessel cannot hold", k);
  }
}

}  // namespace vessel::kvm

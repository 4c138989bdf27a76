#include "accel/soft/soft_state.h"

#include <algorithm>
#include <cstring>

#include "cpu/fpu_image.h"

namespace vessel {
namespace {

using cpu::SegmentCache;

Segment to_segment(const SegmentCache& c) {
  Segment s;
  s.base = c.base;
  s.limit = c.limit;
  s.selector = c.selector;
  s.type = c.type;
  s.s = c.s;
  s.dpl = c.dpl;
  s.present = c.present;
  s.avl = c.avl;
  s.l = c.l;
  s.db = c.db;
  s.g = c.g;
  s.unusable = c.unusable;
  return s;
}

SegmentCache from_segment(const Segment& s) {
  SegmentCache c;
  c.base = s.base;
  c.limit = s.limit;
  c.selector = s.selector;
  c.type = s.type & 0xF;
  c.s = s.s;
  c.dpl = s.dpl & 3;
  c.present = s.present;
  c.avl = s.avl;
  c.l = s.l;
  c.db = s.db;
  c.g = s.g;
  c.unusable = s.unusable;
  return c;
}

// The XSAVE header follows the 512-byte legacy region; XSTATE_BV is its
// first field. Bit 0: x87 state, bit 1: SSE state.
constexpr size_t kXstateBv = 512;
constexpr uint64_t kXstateX87 = 1, kXstateSse = 2;

void get_fpu(const cpu::FpuState& fpu, CpuState& s) {
  cpu::fxsave_image(fpu, s.xsave.data(), true, 16);
  uint64_t bv = kXstateX87 | kXstateSse;
  std::memcpy(s.xsave.data() + kXstateBv, &bv, 8);
}

// A component whose XSTATE_BV bit is clear is in its initial state (as
// XRSTOR loads it); MXCSR takes its reset value then too.
Status set_fpu(cpu::FpuState& fpu, const CpuState& s) {
  uint64_t bv;
  std::memcpy(&bv, s.xsave.data() + kXstateBv, 8);
  uint8_t image[cpu::kFxsaveSize];
  std::memcpy(image, s.xsave.data(), sizeof image);
  const cpu::FpuState init;
  if (!(bv & kXstateSse)) std::memcpy(image + 24, &init.mxcsr, 4);
  cpu::FpuState next;
  if (!cpu::fxrstor_image(next, image, true, 16)) {
    uint32_t mxcsr;
    std::memcpy(&mxcsr, image + 24, 4);
    return make_error("MXCSR {:#x} sets bits the software CPU does not implement", mxcsr);
  }
  if (!(bv & kXstateX87)) next.x87 = init.x87;
  if (!(bv & kXstateSse)) next.xmm = init.xmm;
  fpu = next;
  return ok_status();
}

// The MSRs carried in CpuState::msrs (those without a field of their own).
constexpr uint32_t kListedMsrs[] = {
    cpu::msr::kTsc,        cpu::msr::kSysenterCs, cpu::msr::kSysenterEsp, cpu::msr::kSysenterEip,
    cpu::msr::kMiscEnable, cpu::msr::kPat,        cpu::msr::kMtrrDefType, cpu::msr::kStar,
    cpu::msr::kLstar,      cpu::msr::kCstar,      cpu::msr::kSfmask,      cpu::msr::kKernelGsBase,
    cpu::msr::kTscAux,     cpu::msr::kSpecCtrl,
};

template <typename C>
auto msr_field(C& c, uint32_t index) -> decltype(&c.star) {
  switch (index) {
    case cpu::msr::kSysenterCs:
      return &c.sysenter_cs;
    case cpu::msr::kSysenterEsp:
      return &c.sysenter_esp;
    case cpu::msr::kSysenterEip:
      return &c.sysenter_eip;
    case cpu::msr::kMiscEnable:
      return &c.misc_enable;
    case cpu::msr::kPat:
      return &c.pat;
    case cpu::msr::kMtrrDefType:
      return &c.mtrr_def_type;
    case cpu::msr::kStar:
      return &c.star;
    case cpu::msr::kLstar:
      return &c.lstar;
    case cpu::msr::kCstar:
      return &c.cstar;
    case cpu::msr::kSfmask:
      return &c.sfmask;
    case cpu::msr::kKernelGsBase:
      return &c.kernel_gs_base;
    case cpu::msr::kTscAux:
      return &c.tsc_aux;
    case cpu::msr::kSpecCtrl:
      return &c.spec_ctrl;
    default:
      return nullptr;
  }
}

}  // namespace

CpuState soft_get_state(const cpu::Cpu& c, bool halted) {
  CpuState s;
  s.gpr = c.gpr;
  s.rip = c.rip;
  s.rflags = c.get_rflags();
  s.es = to_segment(c.seg[cpu::kEs]);
  s.cs = to_segment(c.seg[cpu::kCs]);
  s.ss = to_segment(c.seg[cpu::kSs]);
  s.ds = to_segment(c.seg[cpu::kDs]);
  s.fs = to_segment(c.seg[cpu::kFs]);
  s.gs = to_segment(c.seg[cpu::kGs]);
  s.tr = to_segment(c.tr);
  s.ldt = to_segment(c.ldtr);
  s.gdt = {c.gdtr.base, c.gdtr.limit};
  s.idt = {c.idtr.base, c.idtr.limit};
  s.cr0 = c.cr0;
  s.cr2 = c.cr2;
  s.cr3 = c.cr3;
  s.cr4 = c.cr4;
  s.cr8 = c.cr8;
  s.efer = c.efer;
  s.apic_base = c.apic_base;
  s.xcr0 = c.xcr0;
  s.dr = c.dr;
  s.dr6 = c.dr6;
  s.dr7 = c.dr7;
  for (uint32_t index : kListedMsrs) {
    uint64_t v = index == cpu::msr::kTsc ? c.read_tsc() : *msr_field(c, index);
    s.msrs.push_back({index, v});
  }
  std::sort(s.msrs.begin(), s.msrs.end(),
            [](const MsrEntry& a, const MsrEntry& b) { return a.index < b.index; });
  if (c.pending_vector() >= 0) {
    s.events.exception_pending = true;
    s.events.exception_vector = static_cast<uint8_t>(c.pending_vector());
    s.events.exception_has_error_code = c.pending_error() != cpu::kNoErrorCode;
    s.events.exception_error_code = s.events.exception_has_error_code ? c.pending_error() : 0;
  }
  s.events.nmi_masked = c.nmi_masked;
  s.events.interrupt_shadow = c.interrupt_shadow;
  get_fpu(c.fpu, s);
  s.mp_state = halted ? MpState::kHalted : MpState::kRunnable;
  return s;
}

Status soft_set_state(cpu::Cpu& c, const CpuState& s) {
  for (const MsrEntry& m : s.msrs) {
    if (m.index != cpu::msr::kTsc && !msr_field(c, m.index))
      return make_error("the software CPU has no MSR {:#x}", m.index);
    if (m.index == cpu::msr::kSpecCtrl && (m.value & ~cpu::kSpecCtrlWritable))
      return make_error("IA32_SPEC_CTRL {:#x} sets bits the software CPU does not have", m.value);
  }
  if (s.events.interrupt_pending)
    return make_error(
        "an injected external interrupt cannot be restored yet (no interrupt "
        "controller models under the soft accelerator)");
  VESSEL_TRY(set_fpu(c.fpu, s));
  c.gpr = s.gpr;
  c.rip = s.rip;
  c.cr0 = s.cr0;
  c.cr2 = s.cr2;
  c.cr3 = s.cr3;
  c.cr4 = s.cr4;
  c.cr8 = s.cr8;
  c.efer = s.efer;
  c.apic_base = s.apic_base;
  c.xcr0 = s.xcr0;
  c.dr = s.dr;
  c.dr6 = s.dr6;
  c.dr7 = s.dr7;
  c.seg[cpu::kEs] = from_segment(s.es);
  c.seg[cpu::kCs] = from_segment(s.cs);
  c.seg[cpu::kSs] = from_segment(s.ss);
  c.seg[cpu::kDs] = from_segment(s.ds);
  c.seg[cpu::kFs] = from_segment(s.fs);
  c.seg[cpu::kGs] = from_segment(s.gs);
  c.tr = from_segment(s.tr);
  c.ldtr = from_segment(s.ldt);
  c.gdtr = {s.gdt.base, s.gdt.limit};
  c.idtr = {s.idt.base, s.idt.limit};
  c.set_rflags(s.rflags);
  for (const MsrEntry& m : s.msrs) {
    if (m.index == cpu::msr::kTsc)
      c.write_msr(cpu::msr::kTsc, m.value);
    else
      *msr_field(c, m.index) = m.value;
  }
  if (s.events.exception_pending)
    c.set_pending(s.events.exception_vector, s.events.exception_has_error_code
                                                 ? s.events.exception_error_code
                                                 : cpu::kNoErrorCode);
  else
    c.set_pending(-1, cpu::kNoErrorCode);
  c.nmi_masked = s.events.nmi_masked;
  c.interrupt_shadow = s.events.interrupt_shadow;
  c.update_mode();
  c.update_debug();
  c.flush_tlb();
  return ok_status();
}

}  // namespace vessel

// Delivery of exceptions and interrupts through the IVT (real mode), the
// 32-bit IDT (interrupt and trap gates, 16- and 32-bit, with the stack switch
// through the TSS) and the 64-bit IDT (IST, RSP0-2), with double-fault and
// triple-fault escalation. Task gates switch tasks (task.cc).
#include "cpu/cpu.h"

namespace vessel::cpu {
namespace {

bool contributory(uint8_t v) {
  return v == kDe || (v >= kTs && v <= kGp);
}

}  // namespace

bool Cpu::deliver(uint8_t vector, uint32_t error_code, bool soft, uint64_t return_rip) {
  if (!protected_mode()) return deliver_real(vector, return_rip);
  if (long_mode()) return deliver_long(vector, error_code, soft, return_rip);
  return deliver_protected(vector, error_code, soft, return_rip);
}

bool Cpu::deliver_real(uint8_t vector, uint64_t return_rip) {
  if (vector * 4u + 3 > idtr.limit) return fault(kGp, 0);
  uint64_t entry;
  if (!read_linear(idtr.base + vector * 4u, 4, &entry, Access::kRead, true)) return false;
  uint64_t saved_rsp = gpr[kRsp];
  if (!push(get_rflags() & 0xFFFF, 2) || !push(seg[kCs].selector, 2) ||
      !push(return_rip & 0xFFFF, 2)) {
    gpr[kRsp] = saved_rsp;
    return false;
  }
  rflags_ &= ~(rflags::kIf | rflags::kTf | rflags::kAc | rflags::kRf);
  load_segment_real(kCs, static_cast<uint16_t>(entry >> 16));
  rip = next_rip = entry & 0xFFFF;
  return true;
}

// Reads the code segment an IDT gate names and checks it (SDM 6.12.1).
static bool gate_target(Cpu& cpu, uint16_t selector, uint32_t ext, SegmentCache* out) {
  if ((selector & 0xFFFC) == 0) return cpu.fault(kGp, ext);
  uint64_t raw;
  if (!cpu.read_descriptor(selector, &raw, kGp)) return false;
  SegmentCache s = Cpu::unpack_descriptor(selector, raw);
  uint32_t err = (selector & 0xFFFC) | ext;
  if (!s.s || !(s.type & 0x8) || s.dpl > cpu.cpl()) return cpu.fault(kGp, err);
  if (!s.present) return cpu.fault(kNp, err);
  *out = s;
  return true;
}

bool Cpu::deliver_protected(uint8_t vector, uint32_t error_code, bool soft, uint64_t return_rip) {
  uint32_t ext = soft ? 0 : 1;
  uint32_t idt_err = vector * 8u + 2 + ext;
  if (vector * 8u + 7 > idtr.limit) return fault(kGp, idt_err);
  uint64_t gate;
  if (!read_linear(idtr.base + vector * 8u, 8, &gate, Access::kRead, true)) return false;
  unsigned type = (gate >> 40) & 0x1F;  // S bit and type
  unsigned dpl = (gate >> 45) & 3;
  bool present = (gate >> 47) & 1;
  if (type != 0x5 && type != 0x6 && type != 0x7 && type != 0xE && type != 0xF)
    return fault(kGp, idt_err);
  if (soft && dpl < cpl_) return fault(kGp, vector * 8u + 2);
  if (!present) return fault(kNp, idt_err);
  if (type == 0x5) {
    // Task gate: switch tasks; the error code goes on the new task's stack,
    // a dword for a 32-bit TSS, a word for a 16-bit one.
    if (!task_switch(static_cast<uint16_t>(gate >> 16), TaskSwitch::kInterrupt, return_rip))
      return false;
    return error_code == kNoErrorCode || push(error_code, (tr.type & 0x8) ? 4 : 2);
  }
  bool gate32 = type & 0x8;
  bool trap = type & 0x1;
  uint16_t selector = static_cast<uint16_t>(gate >> 16);
  uint64_t offset = (gate & 0xFFFF) | (gate32 ? ((gate >> 48) & 0xFFFF) << 16 : 0);
  SegmentCache cs;
  if (!gate_target(*this, selector, ext, &cs)) return false;
  if (offset > cs.limit) return fault(kGp, ext);
  unsigned size = gate32 ? 4 : 2;
  bool inner = !((cs.type & 0xC) == 0xC) && cs.dpl < cpl_;
  // From virtual-8086 mode only to a non-conforming ring-0 segment.
  bool from_vm = rflags_ & rflags::kVm;
  if (from_vm && (!inner || cs.dpl != 0)) return fault(kGp, (selector & 0xFFFC) | ext);

  SegmentCache ss = seg[kSs];
  uint64_t sp = gpr[kRsp];
  uint64_t old_ss = seg[kSs].selector, old_sp = gpr[kRsp];
  if (inner) {
    // The new stack from the TSS (32-bit or 16-bit TSS).
    bool tss32 = tr.type == 0x9 || tr.type == 0xB;
    unsigned esp_off = tss32 ? 4 + cs.dpl * 8 : 2 + cs.dpl * 4;
    unsigned ss_off = tss32 ? 8 + cs.dpl * 8 : 4 + cs.dpl * 4;
    if (ss_off + 1 > tr.limit) return fault(kTs, (tr.selector & 0xFFFC) | ext);
    uint64_t new_sp, new_ss;
    if (!read_linear(tr.base + esp_off, tss32 ? 4 : 2, &new_sp, Access::kRead, true) ||
        !read_linear(tr.base + ss_off, 2, &new_ss, Access::kRead, true))
      return false;
    uint16_t ss_sel = static_cast<uint16_t>(new_ss);
    if ((ss_sel & 0xFFFC) == 0) return fault(kTs, ext);
    uint64_t raw;
    if (!read_descriptor(ss_sel, &raw, kTs)) return false;
    ss = unpack_descriptor(ss_sel, raw);
    if ((ss_sel & 3) != cs.dpl || ss.dpl != cs.dpl || !ss.s || (ss.type & 0x8) || !(ss.type & 0x2))
      return fault(kTs, (ss_sel & 0xFFFC) | ext);
    if (!ss.present) return fault(kStackFault, (ss_sel & 0xFFFC) | ext);
    sp = new_sp;
  }
  // Push the frame on the (new) stack; nothing is committed until all pushes worked.
  uint64_t mask = ss.db ? 0xFFFFFFFF : 0xFFFF;
  unsigned new_cpl = inner ? cs.dpl : cpl_;
  auto push_frame = [&](uint64_t v) {
    uint64_t nsp = (sp - size) & mask;
    if (!check_segment(ss, kSs, nsp, size, true)) return false;
    if (!write_linear((ss.base + nsp) & 0xFFFFFFFF, size, v, new_cpl < 3)) return false;
    sp = (sp & ~mask) | nsp;
    return true;
  };
  if (from_vm) {
    for (unsigned r : {kGs, kFs, kDs, kEs})
      if (!push_frame(seg[r].selector)) return false;
  }
  if (inner && (!push_frame(old_ss) || !push_frame(old_sp))) return false;
  if (!push_frame(get_rflags()) || !push_frame(seg[kCs].selector) || !push_frame(return_rip))
    return false;
  if (error_code != kNoErrorCode && !push_frame(error_code)) return false;

  if (inner) {
    ss.type |= 1;
    seg[kSs] = ss;
  }
  gpr[kRsp] = sp;
  if (from_vm) {
    for (unsigned r : {kGs, kFs, kDs, kEs}) {
      seg[r] = SegmentCache{};
      seg[r].unusable = true;
      seg[r].present = false;
    }
  }
  rflags_ &= ~(rflags::kTf | rflags::kNt | rflags::kRf | rflags::kVm);
  if (!trap) rflags_ &= ~rflags::kIf;
  cs.type |= 1;
  cs.selector = static_cast<uint16_t>((selector & ~3) | new_cpl);
  set_segment(kCs, cs);  // after VM is clear: CPL from the selector
  rip = next_rip = offset;
  return true;
}

bool Cpu::deliver_long(uint8_t vector, uint32_t error_code, bool soft, uint64_t return_rip) {
  uint32_t ext = soft ? 0 : 1;
  uint32_t idt_err = vector * 8u + 2 + ext;
  if (vector * 16u + 15 > idtr.limit) return fault(kGp, idt_err);
  uint64_t lo, hi;
  if (!read_linear(idtr.base + vector * 16u, 8, &lo, Access::kRead, true) ||
      !read_linear(idtr.base + vector * 16u + 8, 8, &hi, Access::kRead, true))
    return false;
  unsigned type = (lo >> 40) & 0x1F;
  unsigned dpl = (lo >> 45) & 3;
  if (type != 0xE && type != 0xF) return fault(kGp, idt_err);
  if (soft && dpl < cpl_) return fault(kGp, vector * 8u + 2);
  if (!((lo >> 47) & 1)) return fault(kNp, idt_err);
  uint16_t selector = static_cast<uint16_t>(lo >> 16);
  uint64_t offset = (lo & 0xFFFF) | (((lo >> 48) & 0xFFFF) << 16) | (hi << 32);
  unsigned ist = (lo >> 32) & 7;
  SegmentCache cs;
  if (!gate_target(*this, selector, ext, &cs)) return false;
  if (!cs.l || cs.db) return fault(kGp, (selector & 0xFFFC) | ext);
  bool inner = !((cs.type & 0xC) == 0xC) && cs.dpl < cpl_;
  uint64_t sp = gpr[kRsp];
  if (inner || ist) {
    unsigned off = ist ? 0x24 + (ist - 1) * 8 : 4 + cs.dpl * 8;
    if (off + 7 > tr.limit) return fault(kTs, (tr.selector & 0xFFFC) | ext);
    if (!read_linear(tr.base + off, 8, &sp, Access::kRead, true)) return false;
  }
  sp &= ~0xFull;
  unsigned new_cpl = inner ? cs.dpl : cpl_;
  uint64_t frame[6] = {seg[kSs].selector, gpr[kRsp],  get_rflags(),
                       seg[kCs].selector, return_rip, error_code};
  unsigned n = error_code != kNoErrorCode ? 6 : 5;
  for (unsigned i = 0; i < n; ++i) {
    sp -= 8;
    uint64_t a = sp;
    if (static_cast<uint64_t>(static_cast<int64_t>(a << 16) >> 16) != a)
      return fault(kStackFault, ext);
    if (!write_linear(a, 8, frame[i], new_cpl < 3)) return false;
  }
  if (inner) {
    SegmentCache ss;
    ss.selector = static_cast<uint16_t>(cs.dpl);
    ss.unusable = true;
    ss.present = false;
    ss.dpl = cs.dpl;
    seg[kSs] = ss;
  }
  gpr[kRsp] = sp;
  cs.type |= 1;
  cs.selector = static_cast<uint16_t>((selector & ~3) | new_cpl);
  set_segment(kCs, cs);
  rflags_ &= ~(rflags::kTf | rflags::kNt | rflags::kRf | rflags::kVm);
  if (type == 0xE) rflags_ &= ~rflags::kIf;
  rip = next_rip = offset;
  return true;
}

bool Cpu::deliver_pending() {
  uint8_t vector = static_cast<uint8_t>(pending_vector_);
  uint32_t error = pending_error_;
  pending_vector_ = -1;
  ++stats_.exceptions;
  // Fault-class exceptions push RF = 1 (so that IRET does not stop at an
  // instruction breakpoint again); #DB traps and instruction breakpoints push
  // RF as it is. Entering the #DB handler clears DR7.GD.
  if (vector != kDb) rflags_ |= rflags::kRf;
  if (vector == kDb) dr7 &= ~(1ull << 13);
  for (;;) {
    if (deliver(vector, error, false, rip)) return true;
    // A fault while delivering: serial delivery, #DF, or shutdown.
    uint8_t second = static_cast<uint8_t>(pending_vector_);
    uint32_t second_error = pending_error_;
    pending_vector_ = -1;
    if (vector == kDf) return false;
    bool df = (contributory(vector) && contributory(second)) ||
              (vector == kPf && (contributory(second) || second == kPf));
    if (df) {
      vector = kDf;
      error = 0;
    } else {
      vector = second;
      error = second_error;
    }
  }
}

bool Cpu::take_interrupt() {
  std::optional<uint8_t> vector = intr_->acknowledge();
  if (!vector) return false;  // withdrawn or spurious: keep executing
  ++stats_.interrupts;
  deliver(*vector, kNoErrorCode, false, rip);  // a fault in delivery stays pending
  return true;
}

}  // namespace vessel::cpu

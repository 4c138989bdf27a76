// Segment register loads and far control transfers (JMP/CALL/RET far, IRET)
// with the protected-mode descriptor checks; far JMP/CALL through a system
// descriptor continue in gates.cc, IRET with NT in task.cc; IRET to and
// within virtual-8086 mode.
#include "base/log.h"
#include "cpu/cpu.h"

namespace vessel::cpu {
namespace {

bool is_code(const SegmentCache& s) {
  return s.s && (s.type & 0x8);
}
bool conforming(const SegmentCache& s) {
  return (s.type & 0xC) == 0xC;
}

}  // namespace

SegmentCache Cpu::unpack_descriptor(uint16_t selector, uint64_t raw) {
  SegmentCache s;
  s.selector = selector;
  s.base = ((raw >> 16) & 0xFFFFFF) | ((raw >> 56) << 24);
  uint32_t limit = static_cast<uint32_t>((raw & 0xFFFF) | (((raw >> 48) & 0xF) << 16));
  s.g = (raw >> 55) & 1;
  s.limit = s.g ? (limit << 12) | 0xFFF : limit;
  s.type = (raw >> 40) & 0xF;
  s.s = (raw >> 44) & 1;
  s.dpl = (raw >> 45) & 3;
  s.present = (raw >> 47) & 1;
  s.avl = (raw >> 52) & 1;
  s.l = (raw >> 53) & 1;
  s.db = (raw >> 54) & 1;
  s.unusable = false;
  return s;
}

bool Cpu::read_descriptor(uint16_t selector, uint64_t* raw, uint8_t vector) {
  bool local = selector & 4;
  if (local && ldtr.unusable) return fault(vector, selector & 0xFFFC);
  uint32_t index = selector & 0xFFF8;
  uint64_t base = local ? ldtr.base : gdtr.base;
  uint32_t limit = local ? ldtr.limit : gdtr.limit;
  if (index + 7 > limit) return fault(vector, selector & 0xFFFC);
  return read_linear(base + index, 8, raw, Access::kRead, true);
}

bool Cpu::mark_accessed(uint16_t selector, uint64_t raw) {
  if (raw & (1ull << 40)) return true;
  uint64_t base = (selector & 4) ? ldtr.base : gdtr.base;
  return write_linear(base + (selector & 0xFFF8) + 5, 1, ((raw >> 40) & 0xFF) | 1, true);
}

void Cpu::set_segment(unsigned sreg, const SegmentCache& cache) {
  seg[sreg] = cache;
  if (sreg == kCs || sreg == kSs) update_mode();
}

void Cpu::load_segment_real(unsigned sreg, uint16_t selector) {
  SegmentCache& s = seg[sreg];
  s.selector = selector;
  s.base = uint64_t{selector} << 4;
  s.unusable = false;
  s.present = true;
  if (rflags_ & rflags::kVm) {  // virtual-8086: fixed attributes
    s.limit = 0xFFFF;
    s.dpl = 3;
    s.db = s.l = s.g = false;
    s.type = sreg == kCs ? 0xB : 0x3;
  } else if (sreg == kCs) {
    s.type = 0xB;
    s.s = true;
    s.l = false;
  }
  if (sreg == kCs || sreg == kSs) update_mode();
}

bool Cpu::load_segment(unsigned sreg, uint16_t selector) {
  if (!protected_mode() || (rflags_ & rflags::kVm)) {
    load_segment_real(sreg, selector);
    return true;
  }
  unsigned rpl = selector & 3;
  if ((selector & 0xFFFC) == 0) {
    if (sreg == kSs && !(mode64() && cpl_ < 3 && rpl == cpl_)) return fault(kGp, 0);
    SegmentCache null;
    null.selector = selector;
    null.unusable = true;
    null.present = false;
    if (sreg == kSs) null.dpl = static_cast<uint8_t>(cpl_);
    seg[sreg] = null;
    return true;
  }
  uint64_t raw;
  if (!read_descriptor(selector, &raw, kGp)) return false;
  SegmentCache s = unpack_descriptor(selector, raw);
  uint32_t err = selector & 0xFFFC;
  if (sreg == kSs) {
    if (rpl != cpl_ || !s.s || (s.type & 0x8) || !(s.type & 0x2) || s.dpl != cpl_)
      return fault(kGp, err);
    if (!s.present) return fault(kStackFault, err);
  } else {
    if (!s.s || ((s.type & 0x8) && !(s.type & 0x2))) return fault(kGp, err);
    if (!conforming(s) && (rpl > s.dpl || cpl_ > s.dpl)) return fault(kGp, err);
    if (!s.present) return fault(kNp, err);
  }
  if (!mark_accessed(selector, raw)) return false;
  s.type |= 1;
  set_segment(sreg, s);
  return true;
}

// Reads and checks the code descriptor a far transfer targets. `rpl_rule`:
// RET/IRET rules (DPL against the selector's RPL) instead of JMP/CALL rules.
static bool load_code_descriptor(Cpu& cpu, uint16_t selector, bool rpl_rule, SegmentCache* out) {
  if ((selector & 0xFFFC) == 0) return cpu.fault(kGp, 0);
  uint64_t raw;
  if (!cpu.read_descriptor(selector, &raw, kGp)) return false;
  SegmentCache s = Cpu::unpack_descriptor(selector, raw);
  uint32_t err = selector & 0xFFFC;
  if (!is_code(s)) return cpu.fault(kGp, err);
  unsigned rpl = selector & 3;
  if (rpl_rule) {
    if (rpl < cpu.cpl()) return cpu.fault(kGp, err);
    if (conforming(s) ? s.dpl > rpl : s.dpl != rpl) return cpu.fault(kGp, err);
  } else if (conforming(s) ? s.dpl > cpu.cpl() : (rpl > cpu.cpl() || s.dpl != cpu.cpl())) {
    return cpu.fault(kGp, err);
  }
  if (!s.present) return cpu.fault(kNp, err);
  if (cpu.long_mode() && s.l && s.db) return cpu.fault(kGp, err);
  if (!cpu.mark_accessed(selector, raw)) return false;
  s.type |= 1;
  *out = s;
  return true;
}

bool Cpu::far_transfer(uint16_t selector, uint64_t offset, bool call, unsigned opsize) {
  if (!protected_mode() || (rflags_ & rflags::kVm)) {
    if (call) {
      if (!push(seg[kCs].selector, opsize)) return false;
      if (!push(next_rip, opsize)) return false;
    }
    load_segment_real(kCs, selector);
    next_rip = offset & size_mask(opsize);
    return true;
  }
  if (selector & 0xFFFC) {
    uint64_t raw;
    if (!read_descriptor(selector, &raw, kGp)) return false;
    if (!((raw >> 44) & 1)) return far_gate(selector, raw, call);  // system descriptor
  }
  SegmentCache cs;
  if (!load_code_descriptor(*this, selector, false, &cs)) return false;
  cs.selector = static_cast<uint16_t>((selector & ~3) | cpl_);
  bool target64 = long_mode() && cs.l;
  if (!target64 && offset > cs.limit) return fault(kGp, 0);
  if (call) {
    uint64_t saved_rsp = gpr[kRsp];
    if (!push(seg[kCs].selector, opsize) || !push(next_rip, opsize)) {
      gpr[kRsp] = saved_rsp;
      return false;
    }
  }
  set_segment(kCs, cs);
  next_rip = target64 ? offset : offset & size_mask(opsize);
  return true;
}

// After a return to an outer privilege level: data segments the new CPL may
// not use become null (SDM RET/IRET).
static void null_inaccessible_segments(Cpu& cpu) {
  for (unsigned r : {kEs, kDs, kFs, kGs}) {
    SegmentCache& s = cpu.seg[r];
    bool data_or_nonconforming = !(s.type & 0x8) || !((s.type & 0xC) == 0xC);
    if (!s.unusable && data_or_nonconforming && s.dpl < cpu.cpl()) {
      s.unusable = true;
      s.present = false;
      s.selector = 0;
    }
  }
}

bool Cpu::far_return(unsigned opsize, uint16_t pop_bytes) {
  uint64_t saved_rsp = gpr[kRsp];
  uint64_t ip, cs_sel;
  if (!pop(opsize, &ip) || !pop(opsize, &cs_sel)) {
    gpr[kRsp] = saved_rsp;
    return false;
  }
  uint16_t selector = static_cast<uint16_t>(cs_sel);
  if (!protected_mode() || (rflags_ & rflags::kVm)) {
    load_segment_real(kCs, selector);
    next_rip = ip & size_mask(opsize);
    gpr[kRsp] = (gpr[kRsp] & ~sp_mask()) | ((gpr[kRsp] + pop_bytes) & sp_mask());
    return true;
  }
  SegmentCache cs;
  if (!load_code_descriptor(*this, selector, true, &cs)) {
    gpr[kRsp] = saved_rsp;
    return false;
  }
  unsigned rpl = selector & 3;
  gpr[kRsp] = (gpr[kRsp] & ~sp_mask()) | ((gpr[kRsp] + pop_bytes) & sp_mask());
  if (rpl > cpl_) {
    uint64_t new_sp, ss_sel;
    if (!pop(opsize, &new_sp) || !pop(opsize, &ss_sel)) {
      gpr[kRsp] = saved_rsp;
      return false;
    }
    SegmentCache old_cs = seg[kCs];
    set_segment(kCs, cs);  // CPL = RPL now: the SS checks are those of the new level
    if (!load_segment(kSs, static_cast<uint16_t>(ss_sel))) {
      set_segment(kCs, old_cs);
      gpr[kRsp] = saved_rsp;
      return false;
    }
    gpr[kRsp] = new_sp + pop_bytes;
    if (stack_size() != 8) gpr[kRsp] &= size_mask(stack_size());
    null_inaccessible_segments(*this);
  } else {
    set_segment(kCs, cs);
  }
  next_rip = mode64() ? ip : ip & size_mask(opsize);
  return true;
}

bool Cpu::iret(unsigned opsize) {
  uint64_t saved_rsp = gpr[kRsp];
  auto fail = [&] {
    gpr[kRsp] = saved_rsp;
    return false;
  };
  if (!protected_mode()) {
    uint64_t ip, cs_sel, flags;
    if (!pop(opsize, &ip) || !pop(opsize, &cs_sel) || !pop(opsize, &flags)) return fail();
    load_segment_real(kCs, static_cast<uint16_t>(cs_sel));
    next_rip = ip & size_mask(opsize);
    uint64_t keep = opsize == 2 ? ~0xFFFFull : (rflags::kVm | rflags::kVif | rflags::kVip);
    set_rflags((get_rflags() & keep) | (flags & ~keep));
    return true;
  }
  if (rflags_ & rflags::kVm) {
    // Virtual-8086 mode: IOPL-sensitive; real-mode frame, VM and IOPL stay.
    if (iopl() < 3) return fault(kGp, 0);
    uint64_t ip, cs_sel, flags;
    if (!pop(opsize, &ip) || !pop(opsize, &cs_sel) || !pop(opsize, &flags)) return fail();
    load_segment_real(kCs, static_cast<uint16_t>(cs_sel));
    next_rip = ip & size_mask(opsize);
    uint64_t keep = rflags::kVm | rflags::kIopl | rflags::kVif | rflags::kVip;
    if (opsize == 2) keep |= ~0xFFFFull;
    set_rflags((get_rflags() & keep) | (flags & ~keep));
    return true;
  }
  if (rflags_ & rflags::kNt) {
    // Return to the task in the current TSS's back link.
    if (long_mode()) return fault(kGp, 0);
    uint64_t link;
    if (!read_linear(tr.base, 2, &link, Access::kRead, true)) return false;
    return task_switch(static_cast<uint16_t>(link), TaskSwitch::kIret, next_rip);
  }
  uint64_t ip, cs_sel, flags;
  if (!pop(opsize, &ip) || !pop(opsize, &cs_sel) || !pop(opsize, &flags)) return fail();
  uint16_t selector = static_cast<uint16_t>(cs_sel);
  if (!long_mode() && opsize == 4 && (flags & rflags::kVm) && cpl_ == 0) {
    // Return to virtual-8086 mode: ESP, SS, ES, DS, FS, GS follow on the stack.
    uint64_t v[6];
    for (uint64_t& x : v)
      if (!pop(4, &x)) return fail();
    set_rflags(flags);
    rflags_ |= rflags::kVm;  // from here segment loads are real-mode style
    load_segment_real(kCs, selector);
    static constexpr unsigned kOrder[5] = {kSs, kEs, kDs, kFs, kGs};
    for (unsigned k = 0; k < 5; ++k) load_segment_real(kOrder[k], static_cast<uint16_t>(v[k + 1]));
    gpr[kRsp] = v[0] & 0xFFFFFFFF;
    next_rip = ip & 0xFFFF;
    return true;
  }
  SegmentCache cs;
  if (!load_code_descriptor(*this, selector, true, &cs)) return fail();
  unsigned rpl = selector & 3;
  bool pop_stack = rpl > cpl_ || mode64();
  uint64_t new_sp = 0, ss_sel = 0;
  if (pop_stack && (!pop(opsize, &new_sp) || !pop(opsize, &ss_sel))) return fail();
  // RFLAGS: IOPL only at CPL 0, IF only at CPL <= IOPL; VM/VIF/VIP stay.
  uint64_t old = get_rflags();
  uint64_t changeable = rflags::kArith | rflags::kTf | rflags::kDf | rflags::kNt | rflags::kRf |
                        rflags::kAc | rflags::kId;
  if (cpl_ == 0) changeable |= rflags::kIopl | rflags::kVif | rflags::kVip;
  if (cpl_ <= iopl()) changeable |= rflags::kIf;
  if (opsize == 2) changeable &= 0xFFFF;
  unsigned old_cpl = cpl_;
  SegmentCache old_cs = seg[kCs];
  set_segment(kCs, cs);
  if (pop_stack) {
    if (!load_segment(kSs, static_cast<uint16_t>(ss_sel))) {
      set_segment(kCs, old_cs);
      return fail();
    }
    gpr[kRsp] = mode64() || stack_size() == 8 ? new_sp : new_sp & size_mask(stack_size());
    if (stack_size() == 2) gpr[kRsp] = (saved_rsp & ~0xFFFFull) | (new_sp & 0xFFFF);
  }
  set_rflags((old & ~changeable) | (flags & changeable));
  if (rpl > old_cpl) null_inaccessible_segments(*this);
  next_rip = mode64() ? ip : ip & size_mask(opsize);
  return true;
}

}  // namespace vessel::cpu

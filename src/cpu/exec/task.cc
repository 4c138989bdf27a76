// Hardware task switching (SDM Vol. 3 ch. 7): far JMP/CALL to a TSS
// descriptor or through a task gate, interrupts and exceptions through a task
// gate in the IDT, and IRET with NT = 1 back along the link. Both TSS formats
// are handled: the 32-bit TSS (types 9/11, limit >= 0x67) and the 286 16-bit
// TSS (types 1/3, 44 bytes, limit >= 0x2B: 16-bit IP, FLAGS and registers, no
// CR3, FS, GS, T bit or I/O map; SDM 7.6). The old task's state is saved in
// the format of the current TSS, the new one is loaded in the format of the
// new TSS, so a switch may cross formats. The switch checks the new TSS
// descriptor (GDT only, type, busy bit, present, limit), reads the whole new
// TSS, saves the dynamic state into the current TSS, updates the busy bits,
// the back link and NT, loads TR, sets CR0.TS, loads CR3 (32-bit TSS, paging
// on), the LDT, EFLAGS, the registers and the segments (faults there are
// #TS/#NP/#SS in the context of the new task), clears DR7's local enables,
// and raises #DB (BT) when a 32-bit TSS's T bit is set.
// A 16-bit task's registers load as 0xFFFF'xxxx: the SDM says only that
// their upper halves are "modified and not maintained"; EIP and EFLAGS load
// zero-extended, FS and GS load null (the 286 has neither).
#include "cpu/cpu.h"

namespace vessel::cpu {
namespace {

constexpr unsigned kTssAvailable = 0x9;
constexpr unsigned kTssBusy = 0xB;
constexpr unsigned kTss16Available = 0x1;
constexpr unsigned kTss16Busy = 0x3;
constexpr unsigned kTssBytes32 = 0x68, kTssBytes16 = 0x2C;
// 32-bit TSS offsets.
constexpr unsigned kLink = 0x00, kCr3 = 0x1C, kEip = 0x20, kEflags = 0x24, kEax = 0x28,
                   kEsSlot = 0x48, kLdt = 0x60, kTrap = 0x64;
// 16-bit TSS offsets.
constexpr unsigned kIp16 = 0x0E, kFlags16 = 0x10, kAx16 = 0x12, kEsSlot16 = 0x22, kLdt16 = 0x2A;

bool tss32(unsigned type) {
  return type & 0x8;
}

// The state a task switch loads, from either TSS format.
struct TaskImage {
  uint32_t eip = 0, eflags = 0, cr3 = 0;
  uint32_t gpr[8] = {};
  uint16_t sel[6] = {};
  uint16_t ldt = 0;
  bool has_cr3 = false, trap = false;
};

uint32_t word32(const uint8_t* b, unsigned off) {
  return b[off] | b[off + 1] << 8 | b[off + 2] << 16 | static_cast<uint32_t>(b[off + 3]) << 24;
}
uint16_t word16(const uint8_t* b, unsigned off) {
  return static_cast<uint16_t>(b[off] | b[off + 1] << 8);
}

TaskImage parse_tss(const uint8_t* b, bool wide) {
  TaskImage t;
  if (wide) {
    t.eip = word32(b, kEip);
    t.eflags = word32(b, kEflags);
    t.cr3 = word32(b, kCr3);
    t.has_cr3 = true;
    for (unsigned r = 0; r < 8; ++r) t.gpr[r] = word32(b, kEax + r * 4);
    for (unsigned s = 0; s < 6; ++s) t.sel[s] = word16(b, kEsSlot + s * 4);
    t.ldt = word16(b, kLdt);
    t.trap = b[kTrap] & 1;
    return t;
  }
  t.eip = word16(b, kIp16);
  t.eflags = word16(b, kFlags16);
  for (unsigned r = 0; r < 8; ++r) t.gpr[r] = 0xFFFF0000u | word16(b, kAx16 + r * 2);
  // ES, CS, SS, DS in the TSS; FS and GS null.
  for (unsigned s = 0; s < 4; ++s) t.sel[s] = word16(b, kEsSlot16 + s * 2);
  t.ldt = word16(b, kLdt16);
  return t;
}

}  // namespace

// Sets (busy) or clears the busy bit of the GDT's TSS descriptor `selector`.
bool Cpu::set_tss_busy(uint16_t selector, bool busy) {
  uint64_t addr = gdtr.base + (selector & 0xFFF8) + 5;
  uint64_t access;
  if (!read_linear(addr, 1, &access, Access::kRead, true)) return false;
  access = busy ? access | 2 : access & ~2ull;
  return write_linear(addr, 1, access, true);
}

bool Cpu::task_switch(uint16_t selector, TaskSwitch reason, uint64_t return_rip) {
  uint32_t err = selector & 0xFFFC;
  bool iret = reason == TaskSwitch::kIret;
  uint8_t vector = iret ? kTs : kGp;
  // The new TSS descriptor: in the GDT, a TSS, busy only for IRET.
  if (selector & 4) return fault(vector, err);
  uint64_t raw;
  if (!read_descriptor(selector, &raw, vector)) return false;
  SegmentCache d = unpack_descriptor(selector, raw);
  if (d.s || (d.type & 0x5) != 0x1) return fault(vector, err);
  bool new_wide = tss32(d.type);
  if (iret != ((d.type & 0x2) != 0)) return fault(vector, err);
  if (!d.present) return fault(kNp, err);
  if (d.limit < (new_wide ? kTssBytes32 : kTssBytes16) - 1) return fault(kTs, err);
  // The current TSS must hold the state saved into it.
  bool old_wide = tss32(tr.type);
  bool old_ok = old_wide ? tr.type == kTssBusy || tr.type == kTssAvailable
                         : tr.type == kTss16Busy || tr.type == kTss16Available;
  if (tr.unusable || !old_ok || tr.limit < (old_wide ? 0x5Fu : 0x29u))
    return fault(kTs, tr.selector & 0xFFFC);

  // Read the whole new TSS before anything changes.
  uint8_t image[kTssBytes32];
  unsigned bytes = new_wide ? kTssBytes32 : kTssBytes16;
  for (unsigned i = 0; i < bytes; i += 4) {
    uint64_t v;
    if (!read_linear(d.base + i, 4, &v, Access::kRead, true)) return false;
    for (unsigned k = 0; k < 4; ++k) image[i + k] = static_cast<uint8_t>(v >> (8 * k));
  }
  TaskImage t = parse_tss(image, new_wide);

  // Save the outgoing task's state in the current TSS's format.
  uint64_t flags = get_rflags();
  if (iret) flags &= ~rflags::kNt;
  auto save = [&](unsigned off, unsigned size, uint64_t v) {
    return write_linear(tr.base + off, size, v, true);
  };
  if (old_wide) {
    if (!save(kEip, 4, return_rip) || !save(kEflags, 4, flags)) return false;
    for (unsigned r = 0; r < 8; ++r)
      if (!save(kEax + r * 4, 4, gpr[r])) return false;
    for (unsigned s = 0; s < 6; ++s)
      if (!save(kEsSlot + s * 4, 2, seg[s].selector)) return false;
  } else {
    if (!save(kIp16, 2, return_rip) || !save(kFlags16, 2, flags)) return false;
    for (unsigned r = 0; r < 8; ++r)
      if (!save(kAx16 + r * 2, 2, gpr[r])) return false;
    for (unsigned s = 0; s < 4; ++s)
      if (!save(kEsSlot16 + s * 2, 2, seg[s].selector)) return false;
  }
  if ((reason == TaskSwitch::kJmp || iret) && !set_tss_busy(tr.selector, false)) return false;
  bool nest = reason == TaskSwitch::kCall || reason == TaskSwitch::kInterrupt;
  if (nest && !write_linear(d.base + kLink, 2, tr.selector, true)) return false;
  if (!iret && !set_tss_busy(selector, true)) return false;

  // Commit: from here on faults belong to the new task.
  d.type |= 0x2;  // busy
  tr = d;
  cr0 |= cr0::kTs;
  if (t.has_cr3 && (cr0 & cr0::kPg)) {
    cr3 = t.cr3;
    flush_tlb();
  }
  dr7 &= ~0x155ull;  // L0-L3 and LE are per task
  update_debug();
  uint64_t new_flags = t.eflags;
  if (nest) new_flags |= rflags::kNt;
  set_rflags(new_flags);
  if (new_flags & rflags::kVm) rflags_ |= rflags::kVm;  // a virtual-8086 task
  for (unsigned r = 0; r < 8; ++r) gpr[r] = t.gpr[r];
  rip = next_rip = t.eip;
  if (!load_task_segments(t.ldt, t.sel)) return false;
  update_mode();
  if (t.trap) {
    dr6 |= 1u << 15;  // BT
    fault(kDb);
    return false;
  }
  return true;
}

bool Cpu::load_task_segments(uint16_t ldt, const uint16_t* sel) {
  // The selectors become visible first; the caches follow with the checks.
  for (unsigned s = 0; s < 6; ++s) {
    seg[s].selector = sel[s];
    seg[s].unusable = true;
  }
  ldtr.selector = ldt;
  ldtr.unusable = true;
  if (ldt & 0xFFFC) {
    uint64_t raw;
    if (ldt & 4) return fault(kTs, ldt & 0xFFFC);
    if (!read_descriptor(ldt, &raw, kTs)) return false;
    SegmentCache l = unpack_descriptor(ldt, raw);
    if (l.s || l.type != 0x2 || !l.present) return fault(kTs, ldt & 0xFFFC);
    ldtr = l;
  }
  if (rflags_ & rflags::kVm) {
    for (unsigned s = 0; s < 6; ++s) load_segment_real(s, sel[s]);
    return true;
  }
  auto load = [&](uint16_t selector, SegmentCache* out, uint64_t* raw) {
    if (!read_descriptor(selector, raw, kTs)) return false;
    *out = unpack_descriptor(selector, *raw);
    return true;
  };
  // CS: a code segment whose DPL matches the RPL (conforming: DPL <= RPL).
  uint16_t cs_sel = sel[kCs];
  unsigned rpl = cs_sel & 3;
  if ((cs_sel & 0xFFFC) == 0) return fault(kTs, 0);
  SegmentCache cs;
  uint64_t raw;
  if (!load(cs_sel, &cs, &raw)) return false;
  bool conforming = (cs.type & 0xC) == 0xC;
  if (!cs.s || !(cs.type & 0x8) || (conforming ? cs.dpl > rpl : cs.dpl != rpl))
    return fault(kTs, cs_sel & 0xFFFC);
  if (!cs.present) return fault(kNp, cs_sel & 0xFFFC);
  if (!mark_accessed(cs_sel, raw)) return false;
  cs.type |= 1;
  set_segment(kCs, cs);  // CPL = RPL
  // SS: writable data at the new CPL.
  uint16_t ss_sel = sel[kSs];
  if ((ss_sel & 0xFFFC) == 0 || (ss_sel & 3) != cpl_) return fault(kTs, ss_sel & 0xFFFC);
  SegmentCache ss;
  if (!load(ss_sel, &ss, &raw)) return false;
  if (!ss.s || (ss.type & 0x8) || !(ss.type & 0x2) || ss.dpl != cpl_)
    return fault(kTs, ss_sel & 0xFFFC);
  if (!ss.present) return fault(kStackFault, ss_sel & 0xFFFC);
  if (!mark_accessed(ss_sel, raw)) return false;
  ss.type |= 1;
  set_segment(kSs, ss);
  // Data segments: null, data or readable code the new CPL may use.
  for (unsigned s : {kEs, kDs, kFs, kGs}) {
    uint16_t ds_sel = sel[s];
    if ((ds_sel & 0xFFFC) == 0) {
      seg[s] = SegmentCache{};
      seg[s].selector = ds_sel;
      seg[s].unusable = true;
      seg[s].present = false;
      continue;
    }
    SegmentCache ds;
    if (!load(ds_sel, &ds, &raw)) return false;
    bool code = ds.type & 0x8;
    bool conf = (ds.type & 0xC) == 0xC;
    if (!ds.s || (code && !(ds.type & 0x2)) || (!conf && (ds.dpl < cpl_ || ds.dpl < (ds_sel & 3u))))
      return fault(kTs, ds_sel & 0xFFFC);
    if (!ds.present) return fault(kNp, ds_sel & 0xFFFC);
    if (!mark_accessed(ds_sel, raw)) return false;
    ds.type |= 1;
    seg[s] = ds;
  }
  return true;
}

}  // namespace vessel::cpu

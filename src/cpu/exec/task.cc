// Hardware task switching with 32-bit TSSs (SDM Vol. 3 ch. 7): far JMP/CALL
// to a TSS descriptor or through a task gate, interrupts and exceptions
// through a task gate in the IDT, and IRET with NT = 1 back along the link.
// The switch checks the new TSS descriptor (GDT only, type, busy bit,
// present, limit), reads the whole new TSS, saves the dynamic state into the
// current TSS, updates the busy bits, the back link and NT, loads TR, sets
// CR0.TS, loads CR3 (with paging on), the LDT, EFLAGS, the registers and the
// segments (faults there are #TS/#NP/#SS in the context of the new task),
// clears DR7's local enables, and raises #DB (BT) when the new TSS's T bit
// is set. 16-bit TSSs (types 1 and 3) are not implemented: #GP/#TS, logged.
#include "base/log.h"
#include "cpu/cpu.h"

namespace vessel::cpu {
namespace {

constexpr unsigned kTssAvailable = 0x9;
constexpr unsigned kTssBusy = 0xB;
constexpr unsigned kTssWords = 0x68 / 4;
// 32-bit TSS offsets.
constexpr unsigned kLink = 0x00, kCr3 = 0x1C, kEip = 0x20, kEflags = 0x24, kEax = 0x28,
                   kEsSlot = 0x48, kLdt = 0x60, kTrap = 0x64;

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
  // The new TSS descriptor: in the GDT, a 32-bit TSS, busy only for IRET.
  if (selector & 4) return fault(vector, err);
  uint64_t raw;
  if (!read_descriptor(selector, &raw, vector)) return false;
  SegmentCache d = unpack_descriptor(selector, raw);
  if (d.s || (d.type & 0x5) != 0x1) return fault(vector, err);
  if (!(d.type & 0x8)) {
    log_warn("soft CPU: task switch to a 16-bit TSS is not implemented");
    return fault(vector, err);
  }
  if (iret != (d.type == kTssBusy)) return fault(vector, err);
  if (!d.present) return fault(kNp, err);
  if (d.limit < 0x67) return fault(kTs, err);
  if (tr.unusable || tr.limit < 0x5F || (tr.type != kTssBusy && tr.type != kTssAvailable))
    return fault(kTs, tr.selector & 0xFFFC);

  // Read the whole new TSS before anything changes.
  uint32_t t[kTssWords];
  for (unsigned i = 0; i < kTssWords; ++i) {
    uint64_t v;
    if (!read_linear(d.base + i * 4, 4, &v, Access::kRead, true)) return false;
    t[i] = static_cast<uint32_t>(v);
  }

  // Save the outgoing task's state.
  uint64_t flags = get_rflags();
  if (iret) flags &= ~rflags::kNt;
  auto save = [&](unsigned off, unsigned size, uint64_t v) {
    return write_linear(tr.base + off, size, v, true);
  };
  if (!save(kEip, 4, return_rip) || !save(kEflags, 4, flags)) return false;
  for (unsigned r = 0; r < 8; ++r)
    if (!save(kEax + r * 4, 4, gpr[r])) return false;
  for (unsigned s = 0; s < 6; ++s)
    if (!save(kEsSlot + s * 4, 2, seg[s].selector)) return false;
  if ((reason == TaskSwitch::kJmp || iret) && !set_tss_busy(tr.selector, false)) return false;
  bool nest = reason == TaskSwitch::kCall || reason == TaskSwitch::kInterrupt;
  if (nest) {
    if (!write_linear(d.base + kLink, 2, tr.selector, true)) return false;
    t[kLink / 4] = tr.selector;
  }
  if (!iret && !set_tss_busy(selector, true)) return false;

  // Commit: from here on faults belong to the new task.
  d.type = kTssBusy;
  tr = d;
  cr0 |= cr0::kTs;
  if (cr0 & cr0::kPg) {
    cr3 = t[kCr3 / 4];
    flush_tlb();
  }
  dr7 &= ~0x155ull;  // L0-L3 and LE are per task
  update_debug();
  uint64_t new_flags = t[kEflags / 4];
  if (nest) new_flags |= rflags::kNt;
  set_rflags(new_flags);
  if (new_flags & rflags::kVm) rflags_ |= rflags::kVm;  // a virtual-8086 task
  for (unsigned r = 0; r < 8; ++r) gpr[r] = t[kEax / 4 + r];
  rip = next_rip = t[kEip / 4];
  uint16_t sel[6];
  for (unsigned s = 0; s < 6; ++s) sel[s] = static_cast<uint16_t>(t[kEsSlot / 4 + s]);
  if (!load_task_segments(static_cast<uint16_t>(t[kLdt / 4]), sel)) return false;
  update_mode();
  if (t[kTrap / 4] & 1) {
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

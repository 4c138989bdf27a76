// Descriptor checks that never fault on a bad selector (SDM Vol. 2: LAR,
// LSL, VERR, VERW): they report through ZF. Linux runs VERW on every return
// to user mode as its MDS mitigation.
#include "cpu/cpu.h"
#include "cpu/exec/handlers.h"
#include "cpu/exec/operands.h"

namespace vessel::cpu {
namespace {

// Reads the descriptor `sel` names (and in long mode the upper half of a
// system descriptor into *hi). Returns 0 when the selector is null or past its
// table's limit (ZF = 0, no fault), 1 when read, -1 on a page fault.
int probe_descriptor(Cpu& c, uint16_t sel, uint64_t* raw, uint64_t* hi) {
  if ((sel & 0xFFFC) == 0) return 0;
  uint64_t base, limit;
  if (sel & 4) {
    if (c.ldtr.unusable) return 0;
    base = c.ldtr.base;
    limit = c.ldtr.limit;
  } else {
    base = c.gdtr.base;
    limit = c.gdtr.limit;
  }
  uint64_t offset = sel & 0xFFF8;
  if (offset + 7 > limit) return 0;
  if (!c.read_linear(base + offset, 8, raw, Access::kRead, true)) return -1;
  *hi = 0;
  bool system = !((*raw >> 44) & 1);
  if (system && c.long_mode()) {
    if (offset + 15 > limit) return 0;
    if (!c.read_linear(base + offset + 8, 8, hi, Access::kRead, true)) return -1;
  }
  return 1;
}

void set_zf(Cpu& c, bool zf) {
  c.lflags.assign(rflags::kZf, zf);
}

// DPL check shared by all four: conforming code segments pass whatever the
// privilege; everything else needs DPL >= CPL and DPL >= RPL.
bool privilege_ok(const Cpu& c, uint16_t sel, const SegmentCache& d) {
  bool conforming_code = d.s && (d.type & 0xC) == 0xC;
  return conforming_code || (d.dpl >= c.cpl() && d.dpl >= (sel & 3));
}

// System descriptor types LAR (all) and LSL (those with a limit) accept, by
// mode: legacy and long mode differ (SDM tables in LAR and LSL).
bool system_type_ok(const Cpu& c, uint8_t type, bool lsl) {
  if (c.long_mode()) return type == 0x2 || type == 0x9 || type == 0xB || (!lsl && type == 0xC);
  switch (type) {
    case 0x1:
    case 0x2:
    case 0x3:
    case 0x9:
    case 0xB:
      return true;
    case 0x4:
    case 0x5:
    case 0xC:
      return !lsl;
    default:
      return false;
  }
}

template <bool kWrite, K S>
Flow verify(Cpu& c, const Insn& i) {
  if (!c.protected_mode() || (c.get_rflags() & rflags::kVm)) return c.raise(kUd);
  uint64_t v;
  if (!read_src<S>(c, i, 2, &v)) return Flow::kFault;
  uint16_t sel = static_cast<uint16_t>(v);
  uint64_t raw, hi;
  int r = probe_descriptor(c, sel, &raw, &hi);
  if (r < 0) return Flow::kFault;
  bool ok = false;
  if (r > 0) {
    SegmentCache d = Cpu::unpack_descriptor(sel, raw);
    bool code = d.type & 0x8;
    if (d.s && privilege_ok(c, sel, d)) {
      ok = kWrite ? (!code && (d.type & 0x2)) : (!code || (d.type & 0x2));
    }
  }
  set_zf(c, ok);
  return Flow::kNext;
}

template <bool kLsl, K S>
Flow lar_lsl(Cpu& c, const Insn& i) {
  if (!c.protected_mode() || (c.get_rflags() & rflags::kVm)) return c.raise(kUd);
  uint64_t v;
  if (!read_src<S>(c, i, 2, &v)) return Flow::kFault;
  uint16_t sel = static_cast<uint16_t>(v);
  uint64_t raw, hi;
  int r = probe_descriptor(c, sel, &raw, &hi);
  if (r < 0) return Flow::kFault;
  if (r == 0) {
    set_zf(c, false);
    return Flow::kNext;
  }
  SegmentCache d = Cpu::unpack_descriptor(sel, raw);
  bool ok = privilege_ok(c, sel, d) && (d.s || system_type_ok(c, d.type, kLsl));
  set_zf(c, ok);
  if (!ok) return Flow::kNext;
  uint64_t result;
  if (kLsl) {
    result = d.limit;
  } else {
    result = (raw >> 32) & 0x00F0FF00;
  }
  c.set_reg(i.r0, i.opsize == 2 ? 2 : 4, result);
  return Flow::kNext;
}

}  // namespace

Handler sys_verify(bool write, Form f) {
  if (f == Form::kR) return write ? verify<true, K::R> : verify<false, K::R>;
  if (f == Form::kM) return write ? verify<true, K::M> : verify<false, K::M>;
  return nullptr;
}

Handler sys_lar_lsl(bool lsl, Form f) {
  if (f == Form::kRR) return lsl ? lar_lsl<true, K::R> : lar_lsl<false, K::R>;
  if (f == Form::kRM) return lsl ? lar_lsl<true, K::M> : lar_lsl<false, K::M>;
  return nullptr;
}

}  // namespace vessel::cpu

// MMX (and the SSE/SSE2 instructions on MMX registers) for the software CPU.
// MM0-7 are the low 64 bits of the x87 physical registers R0-R7: an MMX
// instruction sets TOP to 0 and tags every register valid, a write sets the
// register's sign/exponent field to all ones (SDM Vol. 1, 9.5.1); EMMS tags
// them all empty. The lane-wise operations reuse the XMM operations on the
// low quadword; the ones whose 64-bit form differs have their own below.
#include "cpu/exec/mmx.h"

namespace vessel::cpu {
namespace {

uint64_t mm(const Cpu& c, unsigned r) {
  return c.fpu.x87.regs[r & 7].significand;
}

void enter_mmx(Cpu& c) {
  c.fpu.x87.fsw &= static_cast<uint16_t>(~(7u << 11));  // TOP = 0
  c.fpu.x87.ftw = 0;                                    // all valid
}

void set_mm(Cpu& c, unsigned r, uint64_t v) {
  c.fpu.x87.regs[r & 7].significand = v;
  c.fpu.x87.regs[r & 7].sign_exponent = 0xFFFF;
}

// #MF when an unmasked x87 exception is pending (FSW.ES) and CR0.NE selects
// native error reporting (with NE = 0 it stays pending, as for x87 waits).
bool no_x87_pending(Cpu& c) {
  return ((c.fpu.x87.fsw & 0x80) && (c.cr0 & cr0::kNe)) ? c.fault(kMf) : true;
}

bool mmx_usable(Cpu& c) {
  if (c.cr0 & cr0::kEm) return c.fault(kUd);
  if (c.cr0 & cr0::kTs) return c.fault(kNm);
  return no_x87_pending(c);
}

// mm(r0) = f(mm(r0), mm(r1) or m, imm) on the low quadwords.
template <bool kMem>
Flow mm_op(Cpu& c, const Insn& i) {
  if (!mmx_usable(c)) return Flow::kFault;
  Xmm s{};
  if constexpr (kMem) {
    if (!sse_read(c, i, i.size2, false, &s)) return Flow::kFault;
  } else {
    s.q[0] = mm(c, i.r1);
  }
  Xmm d{};
  d.q[0] = mm(c, i.r0);
  reinterpret_cast<XmmFn>(i.imm)(c, d, s, i.imm2);
  enter_mmx(c);
  set_mm(c, i.r0, d.q[0]);
  return Flow::kNext;
}

template <bool kMem>
Flow mm_from_gpr(Cpu& c, const Insn& i) {
  if (!mmx_usable(c)) return Flow::kFault;
  uint64_t v;
  if constexpr (kMem) {
    if (!c.read(i.seg, c.effective_address(i), i.size2, &v)) return Flow::kFault;
  } else {
    v = c.reg(i.r1, i.size2);
  }
  Xmm d{};
  d.q[0] = mm(c, i.r0);
  reinterpret_cast<GprToXmmFn>(i.imm)(c, d, v, i.imm2);
  enter_mmx(c);
  set_mm(c, i.r0, d.q[0]);
  return Flow::kNext;
}

Flow mm_to_gpr(Cpu& c, const Insn& i) {
  if (!mmx_usable(c)) return Flow::kFault;
  Xmm s{};
  s.q[0] = mm(c, i.r1);
  uint64_t v = reinterpret_cast<XmmToGprFn>(i.imm)(c, s, i.imm2);
  enter_mmx(c);
  c.set_reg(i.r0, i.opsize, v & size_mask(i.opsize));
  return Flow::kNext;
}

Flow mm_store(Cpu& c, const Insn& i) {
  if (!mmx_usable(c)) return Flow::kFault;
  Xmm x{};
  x.q[0] = mm(c, i.r0);
  if (!sse_write(c, i, i.size2, false, x)) return Flow::kFault;
  enter_mmx(c);
  return Flow::kNext;
}

// xmm(r0) = f(xmm(r0), mm(r1)): CVTPI2PS/CVTPI2PD/MOVQ2DQ with a register.
template <bool kFp>
Flow xmm_from_mm(Cpu& c, const Insn& i) {
  if (!sse_usable(c) || !no_x87_pending(c)) return Flow::kFault;
  Xmm s{};
  s.q[0] = mm(c, i.r1);
  Xmm t = c.fpu.xmm[i.r0];
  auto fn = reinterpret_cast<XmmFn>(i.imm);
  if constexpr (kFp) {
    if (!sse_run_fp(c, [&] { fn(c, t, s, i.imm2); })) return Flow::kFault;
  } else {
    fn(c, t, s, i.imm2);
  }
  enter_mmx(c);
  c.fpu.xmm[i.r0] = t;
  return Flow::kNext;
}

// mm(r0) = f(mm(r0), xmm(r1) or m): CVT(T)PS2PI/CVT(T)PD2PI/MOVDQ2Q.
template <SseSrc S, bool kFp>
Flow mm_from_xmm(Cpu& c, const Insn& i) {
  if (!sse_usable(c) || !no_x87_pending(c)) return Flow::kFault;
  Xmm s;
  if constexpr (S == SseSrc::kReg) {
    s = c.fpu.xmm[i.r1];
  } else if (!sse_read(c, i, i.size2, S == SseSrc::kMemAligned, &s)) {
    return Flow::kFault;
  }
  Xmm t{};
  t.q[0] = mm(c, i.r0);
  auto fn = reinterpret_cast<XmmFn>(i.imm);
  if constexpr (kFp) {
    if (!sse_run_fp(c, [&] { fn(c, t, s, i.imm2); })) return Flow::kFault;
  } else {
    fn(c, t, s, i.imm2);
  }
  enter_mmx(c);
  set_mm(c, i.r0, t.q[0]);
  return Flow::kNext;
}

Flow maskmovq(Cpu& c, const Insn& i) {
  if (!mmx_usable(c)) return Flow::kFault;
  uint64_t data = mm(c, i.r0), mask = mm(c, i.r1);
  uint64_t ea = c.effective_address(i);
  uint64_t amask = size_mask(i.addrsize);
  enter_mmx(c);
  unsigned first = 8, last = 0;
  for (unsigned k = 0; k < 8; ++k) {
    if ((mask >> (8 * k + 7)) & 1) {
      if (first == 8) first = k;
      last = k;
    }
  }
  if (first == 8) return Flow::kNext;
  uint64_t lin_first, lin_last, gpa;
  bool user = c.cpl() == 3;
  if (!c.linearize(i.seg, (ea + first) & amask, 1, true, &lin_first) ||
      !c.linearize(i.seg, (ea + last) & amask, 1, true, &lin_last) ||
      !c.translate(lin_first, Access::kWrite, user, &gpa) ||
      !c.translate(lin_last, Access::kWrite, user, &gpa))
    return Flow::kFault;
  for (unsigned k = first; k <= last; ++k) {
    if (!((mask >> (8 * k + 7)) & 1)) continue;
    if (!c.write(i.seg, (ea + k) & amask, 1, (data >> (8 * k)) & 0xFF)) return Flow::kFault;
  }
  return Flow::kNext;
}

Flow emms(Cpu& c, const Insn&) {
  if (c.cr0 & cr0::kEm) return c.raise(kUd);
  if (c.cr0 & cr0::kTs) return c.raise(kNm);
  if (!no_x87_pending(c)) return Flow::kFault;
  c.fpu.x87.ftw = 0xFFFF;
  return Flow::kNext;
}

// Packs of two 64-bit operands: the XMM pack of (d, s) as one register.
template <XmmFn kPack>
void pack64(Cpu& c, Xmm& d, const Xmm& s) {
  Xmm t;
  t.q[0] = d.q[0];
  t.q[1] = s.q[0];
  kPack(c, t, t, 0);
  d.q[0] = t.q[0];
}
// High unpacks: the XMM low unpack of the operands' high doublewords.
template <XmmFn kUnpack>
void unpack_high64(Cpu& c, Xmm& d, const Xmm& s) {
  Xmm a{}, b{};
  a.q[0] = d.q[0] >> 32;
  b.q[0] = s.q[0] >> 32;
  kUnpack(c, a, b, 0);
  d.q[0] = a.q[0];
}

}  // namespace

VESSEL_XMM_FN(mmx_packsswb) {
  pack64<sse_packsswb>(c, d, s);
}
VESSEL_XMM_FN(mmx_packssdw) {
  pack64<sse_packssdw>(c, d, s);
}
VESSEL_XMM_FN(mmx_packuswb) {
  pack64<sse_packuswb>(c, d, s);
}
VESSEL_XMM_FN(mmx_punpckhbw) {
  unpack_high64<sse_punpcklbw>(c, d, s);
}
VESSEL_XMM_FN(mmx_punpckhwd) {
  unpack_high64<sse_punpcklwd>(c, d, s);
}
VESSEL_XMM_FN(mmx_punpckhdq) {
  unpack_high64<sse_punpckldq>(c, d, s);
}
VESSEL_TO_GPR_FN(mmx_pextrw) {
  return s.w[imm & 3];
}
VESSEL_FROM_GPR_FN(mmx_pinsrw) {
  d.w[imm & 3] = static_cast<uint16_t>(v);
}
// Conversions between two packed doublewords and singles: only the low
// quadword of the single-precision operand takes part.
VESSEL_XMM_FN(cvtpi2ps) {
  Xmm t;
  sse_cvtdq2ps(c, t, s, 0);  // s's upper half is zero
  d.q[0] = t.q[0];
}
VESSEL_XMM_FN(cvtps2pi) {
  Xmm low{}, t;
  low.q[0] = s.q[0];
  sse_cvtps2dq(c, t, low, 0);
  d.q[0] = t.q[0];
}
VESSEL_XMM_FN(cvttps2pi) {
  Xmm low{}, t;
  low.q[0] = s.q[0];
  sse_cvttps2dq(c, t, low, 0);
  d.q[0] = t.q[0];
}

Handler mmx_op(bool mem) {
  return mem ? mm_op<true> : mm_op<false>;
}
Handler mmx_from_gpr(bool mem) {
  return mem ? mm_from_gpr<true> : mm_from_gpr<false>;
}
Handler mmx_to_gpr() {
  return mm_to_gpr;
}
Handler mmx_store() {
  return mm_store;
}
Handler mmx_xmm_from_mm(bool fp) {
  return fp ? xmm_from_mm<true> : xmm_from_mm<false>;
}
Handler mmx_mm_from_xmm(SseSrc src, bool fp) {
  switch (src) {
    case SseSrc::kReg:
      return fp ? mm_from_xmm<SseSrc::kReg, true> : mm_from_xmm<SseSrc::kReg, false>;
    case SseSrc::kMem:
      return fp ? mm_from_xmm<SseSrc::kMem, true> : mm_from_xmm<SseSrc::kMem, false>;
    default:
      return fp ? mm_from_xmm<SseSrc::kMemAligned, true> : mm_from_xmm<SseSrc::kMemAligned, false>;
  }
}
const Handler kMmxMaskmovq = maskmovq;
const Handler kMmxEmms = emms;

}  // namespace vessel::cpu

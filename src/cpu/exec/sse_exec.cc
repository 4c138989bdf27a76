// The SSE handler shapes: the availability check, 16-byte memory operands
// (alignment #GP, all-or-nothing stores), the MXCSR environment of the
// floating-point operations, and MASKMOVDQU.
#include "cpu/exec/sse.h"

namespace vessel::cpu {

bool sse_read(Cpu& c, const Insn& i, unsigned size, bool aligned, Xmm* x) {
  uint64_t ea = c.effective_address(i);
  if (aligned && (ea & 15)) return c.fault(kGp, 0);
  x->q[0] = 0;
  x->q[1] = 0;
  if (size <= 8) return c.read(i.seg, ea, size, &x->q[0]);
  return c.read(i.seg, ea, 8, &x->q[0]) &&
         c.read(i.seg, (ea + 8) & size_mask(i.addrsize), 8, &x->q[1]);
}

bool sse_write(Cpu& c, const Insn& i, unsigned size, bool aligned, const Xmm& x) {
  uint64_t ea = c.effective_address(i);
  if (aligned && (ea & 15)) return c.fault(kGp, 0);
  if (size <= 8) return c.write(i.seg, ea, size, x.q[0] & size_mask(size));
  uint64_t linear;
  if (!c.linearize(i.seg, ea, 16, true, &linear)) return false;
  uint64_t second = linear + 8;
  if (!c.mode64()) second &= 0xFFFFFFFF;
  if ((linear & 0xFFF) > 0xFF0) {
    // The store crosses a page: both pages must be writable before any byte is.
    uint64_t gpa;
    bool user = c.cpl() == 3;
    uint64_t next_page = (linear | 0xFFF) + 1;
    if (!c.mode64()) next_page &= 0xFFFFFFFF;
    if (!c.translate(linear, Access::kWrite, user, &gpa) ||
        !c.translate(next_page, Access::kWrite, user, &gpa))
      return false;
  }
  return c.write_linear(linear, 8, x.q[0]) && c.write_linear(second, 8, x.q[1]);
}

namespace {

template <SseSrc S>
bool load_src(Cpu& c, const Insn& i, Xmm* s) {
  if constexpr (S == SseSrc::kReg) {
    *s = c.fpu.xmm[i.r1];
    return true;
  } else {
    return sse_read(c, i, i.size2, S == SseSrc::kMemAligned, s);
  }
}

template <SseSrc S, bool kFp>
Flow xmm_op(Cpu& c, const Insn& i) {
  if (!sse_usable(c)) return Flow::kFault;
  Xmm s;
  if (!load_src<S>(c, i, &s)) return Flow::kFault;
  auto fn = reinterpret_cast<XmmFn>(i.imm);
  if constexpr (!kFp) {
    fn(c, c.fpu.xmm[i.r0], s, i.imm2);
  } else {
    Xmm t = c.fpu.xmm[i.r0];
    LazyFlags flags = c.lflags;  // COMISS & co. set them; a fault keeps the old ones
    if (!sse_run_fp(c, [&] { fn(c, t, s, i.imm2); })) {
      c.lflags = flags;
      return Flow::kFault;
    }
    c.fpu.xmm[i.r0] = t;
  }
  return Flow::kNext;
}

template <SseSrc S, bool kFp>
Flow xmm_to_gpr(Cpu& c, const Insn& i) {
  if (!sse_usable(c)) return Flow::kFault;
  Xmm s;
  if (!load_src<S>(c, i, &s)) return Flow::kFault;
  auto fn = reinterpret_cast<XmmToGprFn>(i.imm);
  uint64_t v = 0;
  if constexpr (kFp) {
    if (!sse_run_fp(c, [&] { v = fn(c, s, i.imm2); })) return Flow::kFault;
  } else {
    v = fn(c, s, i.imm2);
  }
  c.set_reg(i.r0, i.opsize, v & size_mask(i.opsize));
  return Flow::kNext;
}

template <bool kMem, bool kFp>
Flow gpr_to_xmm(Cpu& c, const Insn& i) {
  if (!sse_usable(c)) return Flow::kFault;
  uint64_t v;
  if constexpr (kMem) {
    if (!c.read(i.seg, c.effective_address(i), i.size2, &v)) return Flow::kFault;
  } else {
    v = c.reg(i.r1, i.size2);
  }
  auto fn = reinterpret_cast<GprToXmmFn>(i.imm);
  if constexpr (kFp) {
    Xmm t = c.fpu.xmm[i.r0];
    if (!sse_run_fp(c, [&] { fn(c, t, v, i.imm2); })) return Flow::kFault;
    c.fpu.xmm[i.r0] = t;
  } else {
    fn(c, c.fpu.xmm[i.r0], v, i.imm2);
  }
  return Flow::kNext;
}

template <bool kAligned>
Flow store(Cpu& c, const Insn& i) {
  if (!sse_usable(c)) return Flow::kFault;
  Xmm x = c.fpu.xmm[i.r0];
  if (i.op == 8) {
    x.q[0] = x.q[1];
    x.q[1] = 0;
  }
  return sse_write(c, i, i.size2, kAligned, x) ? Flow::kNext : Flow::kFault;
}

Flow maskmovdqu(Cpu& c, const Insn& i) {
  if (!sse_usable(c)) return Flow::kFault;
  const Xmm& data = c.fpu.xmm[i.r0];
  const Xmm& mask = c.fpu.xmm[i.r1];
  uint64_t ea = c.effective_address(i);
  unsigned first = 16, last = 0;
  for (unsigned k = 0; k < 16; ++k) {
    if (mask.b[k] & 0x80) {
      if (first == 16) first = k;
      last = k;
    }
  }
  if (first == 16) return Flow::kNext;
  // Check every selected byte is writable before storing any.
  uint64_t lin_first, lin_last, gpa;
  bool user = c.cpl() == 3;
  uint64_t mask_addr = size_mask(i.addrsize);
  if (!c.linearize(i.seg, (ea + first) & mask_addr, 1, true, &lin_first) ||
      !c.linearize(i.seg, (ea + last) & mask_addr, 1, true, &lin_last) ||
      !c.translate(lin_first, Access::kWrite, user, &gpa) ||
      !c.translate(lin_last, Access::kWrite, user, &gpa))
    return Flow::kFault;
  for (unsigned k = first; k <= last; ++k) {
    if (!(mask.b[k] & 0x80)) continue;
    if (!c.write(i.seg, (ea + k) & mask_addr, 1, data.b[k])) return Flow::kFault;
  }
  return Flow::kNext;
}

}  // namespace

Handler sse_xmm_op(SseSrc src, bool fp) {
  switch (src) {
    case SseSrc::kReg:
      return fp ? xmm_op<SseSrc::kReg, true> : xmm_op<SseSrc::kReg, false>;
    case SseSrc::kMem:
      return fp ? xmm_op<SseSrc::kMem, true> : xmm_op<SseSrc::kMem, false>;
    default:
      return fp ? xmm_op<SseSrc::kMemAligned, true> : xmm_op<SseSrc::kMemAligned, false>;
  }
}

Handler sse_xmm_to_gpr(SseSrc src, bool fp) {
  switch (src) {
    case SseSrc::kReg:
      return fp ? xmm_to_gpr<SseSrc::kReg, true> : xmm_to_gpr<SseSrc::kReg, false>;
    case SseSrc::kMem:
      return fp ? xmm_to_gpr<SseSrc::kMem, true> : xmm_to_gpr<SseSrc::kMem, false>;
    default:
      return fp ? xmm_to_gpr<SseSrc::kMemAligned, true> : xmm_to_gpr<SseSrc::kMemAligned, false>;
  }
}

Handler sse_gpr_to_xmm(bool mem, bool fp) {
  if (mem) return fp ? gpr_to_xmm<true, true> : gpr_to_xmm<true, false>;
  return fp ? gpr_to_xmm<false, true> : gpr_to_xmm<false, false>;
}

Handler sse_store(bool aligned) {
  return aligned ? store<true> : store<false>;
}

const Handler kSseMaskmovdqu = maskmovdqu;

}  // namespace vessel::cpu

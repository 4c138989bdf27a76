// x87 arithmetic (FADD..FDIVR in all forms, FIADD..), comparisons (FCOM,
// FUCOM, FCOMI, FICOM, FTST) and the one- and two-operand specials (FCHS,
// FABS, FXAM, FSQRT, FRNDINT, FSCALE, FPREM/FPREM1, FXTRACT and the
// transcendentals), computed by the host x87 under HostFpu.
#include <cstring>

#include "cpu/exec/x87_core.h"
#include "cpu/exec/x87_handlers.h"

namespace vessel::cpu {
namespace {

using namespace x87;

// x op y on the host x87; `*host_sw` receives the status word right after
// the operation (its C1 is the round-up indicator).
long double calc(X87Arith op, long double x, long double y, uint16_t* host_sw) {
  x = fence(x);
  y = fence(y);
  uint16_t status;
  switch (op) {
    case X87Arith::kAdd:
      asm volatile("fadd %%st(1), %%st\n\tfnstsw %1\n\tfnclex" : "+t"(x), "=m"(status) : "u"(y));
      break;
    case X87Arith::kMul:
      asm volatile("fmul %%st(1), %%st\n\tfnstsw %1\n\tfnclex" : "+t"(x), "=m"(status) : "u"(y));
      break;
    case X87Arith::kSub:
      asm volatile("fsub %%st(1), %%st\n\tfnstsw %1\n\tfnclex" : "+t"(x), "=m"(status) : "u"(y));
      break;
    case X87Arith::kSubr:
      asm volatile("fsubr %%st(1), %%st\n\tfnstsw %1\n\tfnclex" : "+t"(x), "=m"(status) : "u"(y));
      break;
    case X87Arith::kDiv:
      asm volatile("fdiv %%st(1), %%st\n\tfnstsw %1\n\tfnclex" : "+t"(x), "=m"(status) : "u"(y));
      break;
    default:
      asm volatile("fdivr %%st(1), %%st\n\tfnstsw %1\n\tfnclex" : "+t"(x), "=m"(status) : "u"(y));
      break;
  }
  *host_sw = status;
  return fence(x);
}

// Relation bits: 1 = less (C0/CF), 2 = unordered (C2/PF), 4 = equal (C3/ZF).
void set_relation(Cpu& c, uint8_t flavour, unsigned rel) {
  if (flavour & x87_cmp::kEflags) {
    c.lflags.put(((rel & 1) ? rflags::kCf : 0) | ((rel & 2) ? rflags::kPf : 0) |
                 ((rel & 4) ? rflags::kZf : 0));
    return;
  }
  X87State& s = c.fpu.x87;
  s.fsw &= ~(sw::kC0 | sw::kC2 | sw::kC3);
  s.fsw |= ((rel & 1) ? sw::kC0 : 0) | ((rel & 2) ? sw::kC2 : 0) | ((rel & 4) ? sw::kC3 : 0);
}

void compare_underflow(Cpu& c, uint8_t flavour, unsigned pops) {
  X87State& s = c.fpu.x87;
  stack_underflow(s, -1, pops);
  if (ie_masked(s)) set_relation(c, flavour, 7);
}

// Compares `a` (ST0) with `b`; `exc` holds exceptions already raised while
// fetching b. Pops `pops` times unless an unmasked exception stops it.
void compare(Cpu& c, const Float80& a, const Float80& b, uint8_t flavour, uint16_t exc,
             unsigned pops) {
  X87State& s = c.fpu.x87;
  bool unordered = is_nan(a) || is_nan(b) || unsupported(a) || unsupported(b);
  if (unsupported(a) || unsupported(b) || is_snan(a) || is_snan(b) ||
      (unordered && !(flavour & x87_cmp::kUnordered)))
    exc |= sw::kIe;
  else if (!unordered && (is_denormal(a) || is_denormal(b)))
    exc |= sw::kDe;
  s.fsw &= ~sw::kC1;
  signal(s, exc);  // the condition codes are set even when unmasked (the pops are not)
  unsigned rel = 7;
  if (!unordered) {
    long double x = to_ld(a), y = to_ld(b);
    rel = x < y ? 1 : x == y ? 4 : 0;
  }
  set_relation(c, flavour, rel);
  if (blocks_result(s, exc)) return;
  for (unsigned k = 0; k < pops; ++k) pop(s);
}

// ST0 op memory with the host's own memory-operand instruction (so that
// operand conversion and the exception priorities, e.g. a NaN suppressing
// the denormal exception of the other operand, are the hardware's).
// Compares leave x unchanged and report C0/C2/C3 in the status word.
#define VESSEL_X87_MEM_OPS(P, S)                                                              \
  switch (op) {                                                                               \
    case X87Arith::kAdd:                                                                      \
      asm volatile(P "add" S " %2\n\tfnstsw %1\n\tfnclex" : "+t"(x), "=m"(status) : "m"(m));  \
      break;                                                                                  \
    case X87Arith::kMul:                                                                      \
      asm volatile(P "mul" S " %2\n\tfnstsw %1\n\tfnclex" : "+t"(x), "=m"(status) : "m"(m));  \
      break;                                                                                  \
    case X87Arith::kSub:                                                                      \
      asm volatile(P "sub" S " %2\n\tfnstsw %1\n\tfnclex" : "+t"(x), "=m"(status) : "m"(m));  \
      break;                                                                                  \
    case X87Arith::kSubr:                                                                     \
      asm volatile(P "subr" S " %2\n\tfnstsw %1\n\tfnclex" : "+t"(x), "=m"(status) : "m"(m)); \
      break;                                                                                  \
    case X87Arith::kDiv:                                                                      \
      asm volatile(P "div" S " %2\n\tfnstsw %1\n\tfnclex" : "+t"(x), "=m"(status) : "m"(m));  \
      break;                                                                                  \
    case X87Arith::kDivr:                                                                     \
      asm volatile(P "divr" S " %2\n\tfnstsw %1\n\tfnclex" : "+t"(x), "=m"(status) : "m"(m)); \
      break;                                                                                  \
    default:                                                                                  \
      asm volatile(P "com" S " %2\n\tfnstsw %1\n\tfnclex" : "+t"(x), "=m"(status) : "m"(m));  \
      break;                                                                                  \
  }

template <typename T>
T mem_operand(const uint8_t* raw) {
  T v;
  std::memcpy(&v, raw, sizeof v);
  return v;
}

long double host_mem_op(X87Arith op, X87Mem fmt, long double st0, const uint8_t* raw,
                        uint16_t* host_sw) {
  long double x = fence(st0);
  uint16_t status;
  switch (fmt) {
    case X87Mem::kF32: {
      const float m = mem_operand<float>(raw);
      VESSEL_X87_MEM_OPS("f", "s")
      break;
    }
    case X87Mem::kF64: {
      const double m = mem_operand<double>(raw);
      VESSEL_X87_MEM_OPS("f", "l")
      break;
    }
    case X87Mem::kI16: {
      const int16_t m = mem_operand<int16_t>(raw);
      VESSEL_X87_MEM_OPS("fi", "s")
      break;
    }
    default: {
      const int32_t m = mem_operand<int32_t>(raw);
      VESSEL_X87_MEM_OPS("fi", "l")
      break;
    }
  }
  *host_sw = status;
  return fence(x);
}
#undef VESSEL_X87_MEM_OPS

Flow arith_mem(Cpu& c, const Insn& i) {
  if (!begin(c, true)) return Flow::kFault;
  auto fmt = static_cast<X87Mem>(i.size2);
  uint8_t raw[10];
  if (!read_operand(c, i, fmt, raw)) return Flow::kFault;
  X87State& s = c.fpu.x87;
  auto op = static_cast<X87Arith>(i.op);
  bool cmp = op == X87Arith::kCom || op == X87Arith::kComp;
  unsigned pops = op == X87Arith::kComp ? 1 : 0;
  if (empty(s, 0)) {
    if (cmp)
      compare_underflow(c, 0, pops);
    else
      stack_underflow(s, 0, 0);
    return Flow::kNext;
  }
  HostFpu host(s.fcw, false, true);
  uint16_t host_sw;
  long double r = host_mem_op(op, fmt, to_ld(st(s, 0)), raw, &host_sw);
  if (!cmp) {
    commit(s, host_sw, 0, r, 0);
    return Flow::kNext;
  }
  uint16_t e = host_sw & sw::kExceptions;
  s.fsw &= ~sw::kC1;
  signal(s, e);  // the condition codes are set even when unmasked (the pops are not)
  s.fsw = static_cast<uint16_t>((s.fsw & ~(sw::kC0 | sw::kC2 | sw::kC3)) |
                                (host_sw & (sw::kC0 | sw::kC2 | sw::kC3)));
  if (blocks_result(s, e)) return Flow::kNext;
  for (unsigned k = 0; k < pops; ++k) pop(s);
  return Flow::kNext;
}

// ST(dst) = ST(dst) op ST(src), then pops.
void arith_regs(Cpu& c, X87Arith op, unsigned dst, unsigned src, unsigned pops) {
  X87State& s = c.fpu.x87;
  if (empty(s, dst) || empty(s, src)) {
    stack_underflow(s, static_cast<int>(dst), pops);
    return;
  }
  HostFpu host(s.fcw, false, true);
  uint16_t host_sw;
  long double r = calc(op, to_ld(st(s, dst)), to_ld(st(s, src)), &host_sw);
  commit(s, host_sw, dst, r, pops);
}

Flow arith_st0(Cpu& c, const Insn& i) {
  if (!begin(c, true)) return Flow::kFault;
  note_insn(c, i);
  arith_regs(c, static_cast<X87Arith>(i.op), 0, i.r1, 0);
  return Flow::kNext;
}

Flow arith_sti(Cpu& c, const Insn& i) {
  if (!begin(c, true)) return Flow::kFault;
  note_insn(c, i);
  arith_regs(c, static_cast<X87Arith>(i.op), i.r1, 0, i.size2);
  return Flow::kNext;
}

Flow compare_regs(Cpu& c, const Insn& i) {
  if (!begin(c, true)) return Flow::kFault;
  note_insn(c, i);
  X87State& s = c.fpu.x87;
  if (empty(s, 0) || empty(s, i.r1)) {
    compare_underflow(c, i.op, i.size2);
    return Flow::kNext;
  }
  compare(c, st(s, 0), st(s, i.r1), i.op, 0, i.size2);
  return Flow::kNext;
}

void examine(X87State& s) {
  const Float80& f = st(s, 0);
  uint16_t cc;  // C3 C2 C0 per SDM FXAM
  if (empty(s, 0))
    cc = sw::kC3 | sw::kC0;
  else if (unsupported(f))
    cc = 0;
  else if (is_nan(f))
    cc = sw::kC0;
  else if (is_inf(f))
    cc = sw::kC2 | sw::kC0;
  else if (is_zero(f))
    cc = sw::kC3;
  else if (is_denormal(f))
    cc = sw::kC3 | sw::kC2;
  else
    cc = sw::kC2;
  s.fsw = static_cast<uint16_t>((s.fsw & ~sw::kCc) | cc | (sign(f) ? sw::kC1 : 0));
}

long double host_unary(X87Special op, long double x, uint16_t* host_sw) {
  x = fence(x);
  uint16_t status;
  switch (op) {
    case X87Special::kF2xm1:
      asm volatile("f2xm1\n\tfnstsw %1\n\tfnclex" : "+t"(x), "=m"(status));
      break;
    case X87Special::kFsqrt:
      asm volatile("fsqrt\n\tfnstsw %1\n\tfnclex" : "+t"(x), "=m"(status));
      break;
    case X87Special::kFrndint:
      asm volatile("frndint\n\tfnstsw %1\n\tfnclex" : "+t"(x), "=m"(status));
      break;
    case X87Special::kFsin:
      asm volatile("fsin\n\tfnstsw %1\n\tfnclex" : "+t"(x), "=m"(status));
      break;
    default:
      asm volatile("fcos\n\tfnstsw %1\n\tfnclex" : "+t"(x), "=m"(status));
      break;
  }
  *host_sw = status;
  return fence(x);
}

// ST0 = op(ST0, ST1) (FSCALE, FPREM, FPREM1) or ST1 = op(ST1, ST0) then pop
// (FYL2X, FYL2XP1, FPATAN).
long double host_binary(X87Special op, long double st0, long double st1, uint16_t* host_sw) {
  long double x = fence(st0), y = fence(st1), r;
  uint16_t status;
  switch (op) {
    case X87Special::kFscale:
      asm volatile("fscale\n\tfnstsw %1\n\tfnclex" : "+t"(x), "=m"(status) : "u"(y));
      r = x;
      break;
    case X87Special::kFprem:
      asm volatile("fprem\n\tfnstsw %1\n\tfnclex" : "+t"(x), "=m"(status) : "u"(y));
      r = x;
      break;
    case X87Special::kFprem1:
      asm volatile("fprem1\n\tfnstsw %1\n\tfnclex" : "+t"(x), "=m"(status) : "u"(y));
      r = x;
      break;
    case X87Special::kFyl2x:
      asm volatile("fyl2x\n\tfnstsw %1\n\tfnclex"
                   : "=t"(r), "=m"(status)
                   : "0"(x), "u"(y)
                   : "st(1)");
      break;
    case X87Special::kFyl2xp1:
      asm volatile("fyl2xp1\n\tfnstsw %1\n\tfnclex"
                   : "=t"(r), "=m"(status)
                   : "0"(x), "u"(y)
                   : "st(1)");
      break;
    default:
      asm volatile("fpatan\n\tfnstsw %1\n\tfnclex"
                   : "=t"(r), "=m"(status)
                   : "0"(x), "u"(y)
                   : "st(1)");
      break;
  }
  *host_sw = status;
  return fence(r);
}

// FPTAN/FSINCOS/FSIN/FCOS take operands with |x| < 2^63; others leave ST0
// unchanged and set C2.
bool trig_in_range(const Float80& f) {
  return exponent(f) < 0x3FFF + 63;
}

// A NaN, infinity or unsupported operand of FSIN/FCOS/FPTAN/FSINCOS: sets
// `result` to the NaN the operation produces and returns whether it may be
// stored (an SNaN, infinity or unsupported operand raises IE, which may be
// unmasked). Returns false with `*invalid` clear for an ordinary number.
bool invalid_operand(X87State& s, const Float80& f, Float80* result, bool* invalid) {
  *invalid = true;
  if (is_nan(f) && !is_snan(f)) {
    *result = f;
    return true;
  }
  if (is_snan(f)) {
    *result = f;
    result->significand |= 1ull << 62;
  } else if (is_inf(f) || unsupported(f)) {
    *result = kIndefinite;
  } else {
    *invalid = false;
    return false;
  }
  signal(s, sw::kIe);
  return ie_masked(s);
}

// Replaces ST0 with `low` and pushes `high` (FPTAN, FSINCOS, FXTRACT).
void commit_push(X87State& s, uint16_t host_sw, long double low, long double high) {
  uint16_t e = host_sw & sw::kExceptions;
  s.fsw &= ~(sw::kC1 | sw::kC2);
  if (!signal_result(s, e)) return;
  if ((e & sw::kPe) && (host_sw & sw::kC1)) s.fsw |= sw::kC1;
  set_st(s, 0, from_ld(low));
  set_top(s, top(s) - 1);
  set_st(s, 0, from_ld(high));
}

// FPTAN, FSINCOS, FXTRACT.
void special_push(X87State& s, X87Special op) {
  if (empty(s, 0)) {
    stack_underflow(s, 0, 0);
    return;
  }
  if (!can_push(s)) {
    signal_overflow(s);
    return;
  }
  const Float80 x = st(s, 0);
  if (op != X87Special::kFxtract) {
    Float80 nan;
    bool invalid;
    if (invalid_operand(s, x, &nan, &invalid)) {
      set_st(s, 0, nan);
      set_top(s, top(s) - 1);
      set_st(s, 0, nan);
    }
    if (invalid) return;
    if (!trig_in_range(x)) {
      s.fsw |= sw::kC2;
      return;
    }
  }
  HostFpu host(s.fcw, true, true);
  long double in = fence(to_ld(x)), low, high;
  uint16_t host_sw;
  if (op == X87Special::kFptan)
    asm volatile("fptan\n\tfnstsw %2\n\tfnclex" : "=t"(high), "=u"(low), "=m"(host_sw) : "0"(in));
  else if (op == X87Special::kFsincos)
    asm volatile("fsincos\n\tfnstsw %2\n\tfnclex" : "=t"(high), "=u"(low), "=m"(host_sw) : "0"(in));
  else
    asm volatile("fxtract\n\tfnstsw %2\n\tfnclex" : "=t"(high), "=u"(low), "=m"(host_sw) : "0"(in));
  low = fence(low);
  high = fence(high);
  commit_push(s, host_sw, low, high);
}

Flow special(Cpu& c, const Insn& i) {
  if (!begin(c, true)) return Flow::kFault;
  note_insn(c, i);
  X87State& s = c.fpu.x87;
  auto op = static_cast<X87Special>(i.op);
  switch (op) {
    case X87Special::kXam:
      examine(s);
      return Flow::kNext;
    case X87Special::kTst:
      if (empty(s, 0))
        compare_underflow(c, 0, 0);
      else
        compare(c, st(s, 0), Float80{}, 0, 0, 0);
      return Flow::kNext;
    case X87Special::kFptan:
    case X87Special::kFsincos:
    case X87Special::kFxtract:
      special_push(s, op);
      return Flow::kNext;
    default:
      break;
  }
  if (empty(s, 0)) {
    stack_underflow(s, 0, 0);
    return Flow::kNext;
  }
  Float80 x = st(s, 0);
  switch (op) {
    case X87Special::kChs:
    case X87Special::kAbs:
      x.sign_exponent =
          op == X87Special::kChs ? x.sign_exponent ^ 0x8000 : x.sign_exponent & 0x7FFF;
      s.fsw &= ~sw::kC1;
      set_st(s, 0, x);
      return Flow::kNext;
    case X87Special::kFsin:
    case X87Special::kFcos: {
      Float80 nan;
      bool invalid;
      if (invalid_operand(s, x, &nan, &invalid)) set_st(s, 0, nan);
      if (invalid) {
        s.fsw &= ~(sw::kC1 | sw::kC2);
        return Flow::kNext;
      }
      if (!trig_in_range(x)) {
        s.fsw |= sw::kC2;
        return Flow::kNext;
      }
      HostFpu host(s.fcw, true, true);
      uint16_t host_sw;
      long double r = host_unary(op, to_ld(x), &host_sw);
      s.fsw &= ~sw::kC2;
      commit(s, host_sw, 0, r, 0);
      return Flow::kNext;
    }
    case X87Special::kF2xm1:
    case X87Special::kFsqrt:
    case X87Special::kFrndint: {
      HostFpu host(s.fcw, op != X87Special::kFsqrt, true);
      uint16_t host_sw;
      long double r = host_unary(op, to_ld(x), &host_sw);
      commit(s, host_sw, 0, r, 0);
      return Flow::kNext;
    }
    default:
      break;
  }
  // Two operands: ST0 and ST1.
  if (empty(s, 1)) {
    bool pops = op == X87Special::kFyl2x || op == X87Special::kFyl2xp1 || op == X87Special::kFpatan;
    stack_underflow(s, pops ? 1 : 0, pops ? 1 : 0);
    return Flow::kNext;
  }
  HostFpu host(s.fcw, true, true);
  uint16_t host_sw;
  long double r = host_binary(op, to_ld(x), to_ld(st(s, 1)), &host_sw);
  if (op == X87Special::kFscale) {
    commit(s, host_sw, 0, r, 0);
  } else if (op == X87Special::kFprem || op == X87Special::kFprem1) {
    if (commit(s, host_sw, 0, r, 0))
      s.fsw = static_cast<uint16_t>((s.fsw & ~sw::kCc) | (host_sw & sw::kCc));
  } else {
    commit(s, host_sw, 1, r, 1);
  }
  return Flow::kNext;
}

}  // namespace

const Handler kX87ArithMem = arith_mem, kX87ArithSt0 = arith_st0, kX87ArithSti = arith_sti,
              kX87Compare = compare_regs, kX87Special = special;

}  // namespace vessel::cpu

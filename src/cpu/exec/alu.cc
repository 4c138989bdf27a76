// Integer arithmetic and logic: the ALU families, INC/DEC/NEG/NOT, shifts and
// rotates, multiply and divide (#DE), bit tests and scans, XADD, CMPXCHG,
// SETcc/CMOVcc, BSWAP and the sign-extension and flag-register one-liners.
// The LOCK'ed forms are in exec/locked.cc.
#include <bit>

#include "cpu/exec/alu_ops.h"
#include "cpu/exec/chain.h"
#include "cpu/exec/handlers.h"
#include "cpu/exec/operands.h"

namespace vessel::cpu {
namespace {

using u128 = unsigned __int128;
using s128 = __int128;

constexpr uint64_t msb(unsigned size) {
  return 1ull << (size * 8 - 1);
}

template <AluOp Op, K D, K S, unsigned kSz, bool kFast = false>
Flow alu2(Cpu& c, const Insn& i) {
  constexpr bool kWrites = Op != AluOp::kCmp && Op != AluOp::kTest;
  const unsigned sz = opsize_of<kSz>(i);
  uint64_t m = size_mask(sz);
  Dst<D, kFast> d;
  uint64_t a, b;
  if (!d.load(c, i, sz, &a, kWrites)) return Flow::kFault;
  if (!read_src<S, kFast>(c, i, sz, &b)) return Flow::kFault;
  bool cf = (Op == AluOp::kAdc || Op == AluOp::kSbb) && c.lflags.cf();
  uint64_t r = alu_result<Op>(a, b, cf, m);
  alu_flags<Op>(c.lflags, a, b, r, sz);
  if constexpr (kWrites) {
    if (!d.store(c, i, sz, r)) return Flow::kFault;
  }
  return Flow::kNext;
}

template <AluOp Op, K D, K S>
Handler alu2_sized(unsigned size) {
  return by_size(size, [](auto n) -> Handler {
    constexpr unsigned kSz = decltype(n)::value;
    if constexpr (D == K::M || S == K::M)
      return chained_fast<alu2<Op, D, S, kSz, true>, alu2<Op, D, S, kSz>>;
    else
      return chained<alu2<Op, D, S, kSz>>;
  });
}

template <AluOp Op>
Handler alu2_form(Form f, unsigned size) {
  switch (f) {
    case Form::kRR:
      return alu2_sized<Op, K::R, K::R>(size);
    case Form::kRM:
      return alu2_sized<Op, K::R, K::M>(size);
    case Form::kMR:
      return alu2_sized<Op, K::M, K::R>(size);
    case Form::kRI:
      return alu2_sized<Op, K::R, K::I>(size);
    case Form::kMI:
      return alu2_sized<Op, K::M, K::I>(size);
    default:
      return nullptr;
  }
}

template <UnaryOp Op, K D, unsigned kSz>
Flow alu1(Cpu& c, const Insn& i) {
  const unsigned sz = opsize_of<kSz>(i);
  Dst<D> d;
  uint64_t a;
  if (!d.load(c, i, sz, &a)) return Flow::kFault;
  uint64_t r = unary_result<Op>(a, size_mask(sz));
  unary_flags<Op>(c.lflags, a, r, sz);
  if (!d.store(c, i, sz, r)) return Flow::kFault;
  return Flow::kNext;
}

// Sets CF and OF only (rotates): the other flags keep their values.
void set_cf_of(Cpu& c, bool cf, bool of) {
  uint64_t f = c.lflags.get() & ~(rflags::kCf | rflags::kOf);
  c.lflags.put(f | (cf ? rflags::kCf : 0) | (of ? rflags::kOf : 0));
}

// A shift or rotate whose masked count is 0 changes no flags, but a 32-bit
// register destination is still written (its bits 63:32 cleared).
template <K D>
Flow zero_count(Cpu& c, const Insn& i, unsigned sz, uint64_t a) {
  if (D == K::R && sz == 4) c.set_reg(i.r0, sz, a);
  return Flow::kNext;
}

template <ShiftOp Op, K D, bool kCountInCl, unsigned kSz>
Flow shift(Cpu& c, const Insn& i) {
  const unsigned sz = opsize_of<kSz>(i);
  unsigned bits = sz * 8;
  uint64_t m = size_mask(sz);
  unsigned count = static_cast<unsigned>(kCountInCl ? c.gpr[kRcx] : i.imm) & (sz == 8 ? 63 : 31);
  Dst<D> d;
  uint64_t a;
  if (!d.load(c, i, sz, &a)) return Flow::kFault;
  if (count == 0) return zero_count<D>(c, i, sz, a);
  uint64_t r = a;
  switch (Op) {
    case ShiftOp::kShl:
    case ShiftOp::kSal: {
      r = count >= 64 ? 0 : (a << count) & m;
      bool cf = count <= bits ? (a >> (bits - count)) & 1 : false;
      c.lflags.set_explicit(r, sz, cf, ((r & msb(sz)) != 0) != cf);
      break;
    }
    case ShiftOp::kShr: {
      r = count >= 64 ? 0 : a >> count;
      bool cf = count <= 64 ? (a >> (count - 1)) & 1 : false;
      c.lflags.set_explicit(r, sz, cf, (a & msb(sz)) != 0);
      break;
    }
    case ShiftOp::kSar: {
      int64_t s = sign_extend(a, sz);
      unsigned n = count > 63 ? 63 : count;
      r = static_cast<uint64_t>(s >> n) & m;
      bool cf = (s >> (n > 0 ? n - 1 : 0)) & 1;
      if (count > 63) cf = s < 0;
      c.lflags.set_explicit(r, sz, cf, false);
      break;
    }
    case ShiftOp::kRol: {
      unsigned n = count % bits;
      r = n ? ((a << n) | (a >> (bits - n))) & m : a;
      bool cf = r & 1;
      set_cf_of(c, cf, ((r & msb(sz)) != 0) != cf);
      break;
    }
    case ShiftOp::kRor: {
      unsigned n = count % bits;
      r = n ? ((a >> n) | (a << (bits - n))) & m : a;
      bool top = r & msb(sz);
      set_cf_of(c, top, top != (((r >> (bits - 2)) & 1) != 0));
      break;
    }
    case ShiftOp::kRcl: {
      unsigned n = count % (bits + 1);
      bool cf = c.lflags.cf();
      for (unsigned k = 0; k < n; ++k) {
        bool out = r & msb(sz);
        r = ((r << 1) | cf) & m;
        cf = out;
      }
      set_cf_of(c, cf, ((r & msb(sz)) != 0) != cf);
      break;
    }
    case ShiftOp::kRcr: {
      unsigned n = count % (bits + 1);
      bool cf = c.lflags.cf();
      bool of = ((a & msb(sz)) != 0) != cf;
      for (unsigned k = 0; k < n; ++k) {
        bool out = r & 1;
        r = (r >> 1) | (cf ? msb(sz) : 0);
        cf = out;
      }
      set_cf_of(c, cf, of);
      break;
    }
  }
  if (!d.store(c, i, sz, r)) return Flow::kFault;
  return Flow::kNext;
}

template <ShiftOp Op, K D, bool kCountInCl>
Handler shift_sized(unsigned size) {
  return by_size(size, [](auto n) -> Handler {
    return chained<shift<Op, D, kCountInCl, decltype(n)::value>>;
  });
}

template <ShiftOp Op>
Handler shift_form(Form f, unsigned size) {
  switch (f) {
    case Form::kRI:
      return shift_sized<Op, K::R, false>(size);
    case Form::kMI:
      return shift_sized<Op, K::M, false>(size);
    case Form::kRR:
      return shift_sized<Op, K::R, true>(size);
    case Form::kMR:
      return shift_sized<Op, K::M, true>(size);
    default:
      return nullptr;
  }
}

template <bool kLeft, K D, bool kCountInCl>
Flow double_shift(Cpu& c, const Insn& i) {
  unsigned sz = i.opsize, bits = sz * 8;
  uint64_t m = size_mask(sz);
  unsigned count = static_cast<unsigned>(kCountInCl ? c.gpr[kRcx] : i.imm) & (sz == 8 ? 63 : 31);
  Dst<D> d;
  uint64_t a;
  if (!d.load(c, i, sz, &a)) return Flow::kFault;
  if (count == 0) return zero_count<D>(c, i, sz, a);
  // The source register: the first register operand of the memory form.
  uint64_t b = c.reg(D == K::M ? i.r0 : i.r1, sz);
  u128 r;
  bool cf;
  if (kLeft) {
    u128 wide = (u128{a} << bits) | b;
    r = (wide << count) >> bits;
    cf = count <= bits ? (a >> (bits - count)) & 1 : (b >> (2 * bits - count)) & 1;
  } else {
    u128 wide = (u128{b} << bits) | a;
    r = wide >> count;
    cf = ((wide >> (count - 1)) & 1) != 0;
  }
  uint64_t res = static_cast<uint64_t>(r) & m;
  c.lflags.set_explicit(res, sz, cf, ((res ^ a) & msb(sz)) != 0);
  if (!d.store(c, i, sz, res)) return Flow::kFault;
  return Flow::kNext;
}

template <K S>
Flow mul(Cpu& c, const Insn& i) {
  unsigned sz = i.opsize;
  uint64_t b;
  if (!read_src<S>(c, i, sz, &b)) return Flow::kFault;
  uint64_t a = c.reg(kRax, sz);
  bool high;
  if (sz == 1) {
    uint64_t r = a * b;
    c.set_reg(kRax, 2, r);
    high = (r >> 8) != 0;
    c.lflags.set_explicit(r & 0xFF, 1, high, high);
  } else {
    u128 r = u128{a} * b;
    uint64_t lo = static_cast<uint64_t>(r) & size_mask(sz);
    uint64_t hi = static_cast<uint64_t>(r >> (sz * 8)) & size_mask(sz);
    c.set_reg(kRax, sz, lo);
    c.set_reg(kRdx, sz, hi);
    high = hi != 0;
    c.lflags.set_explicit(lo, sz, high, high);
  }
  return Flow::kNext;
}

template <K S>
Flow imul1(Cpu& c, const Insn& i) {
  unsigned sz = i.opsize;
  uint64_t b;
  if (!read_src<S>(c, i, sz, &b)) return Flow::kFault;
  s128 r = s128{sign_extend(c.reg(kRax, sz), sz)} * sign_extend(b, sz);
  uint64_t lo = static_cast<uint64_t>(r) & size_mask(sz);
  bool overflow = r != s128{sign_extend(lo, sz)};
  if (sz == 1) {
    c.set_reg(kRax, 2, static_cast<uint64_t>(r));
  } else {
    c.set_reg(kRax, sz, lo);
    c.set_reg(kRdx, sz, static_cast<uint64_t>(r >> (sz * 8)));
  }
  c.lflags.set_explicit(lo, sz, overflow, overflow);
  return Flow::kNext;
}

// IMUL r, r/m and IMUL r, r/m, imm (kImm).
template <K S, bool kImm, unsigned kSz>
Flow imul(Cpu& c, const Insn& i) {
  const unsigned sz = opsize_of<kSz>(i);
  uint64_t b;
  if (!read_src<S>(c, i, sz, &b)) return Flow::kFault;
  uint64_t a = kImm ? i.imm : c.reg(i.r0, sz);
  // The product wraps to 64 bits; narrower products always fit, so the
  // overflow test for them is whether the low part sign-extends back.
  int64_t r;
  bool overflow =
      __builtin_mul_overflow(sign_extend(a & size_mask(sz), sz), sign_extend(b, sz), &r);
  uint64_t lo = static_cast<uint64_t>(r) & size_mask(sz);
  if (sz < 8) overflow = r != sign_extend(lo, sz);
  c.set_reg(i.r0, sz, lo);
  c.lflags.set_explicit(lo, sz, overflow, overflow);
  return Flow::kNext;
}

template <bool kSigned, K S>
Flow div(Cpu& c, const Insn& i) {
  unsigned sz = i.opsize;
  uint64_t b;
  if (!read_src<S>(c, i, sz, &b)) return Flow::kFault;
  if (b == 0) return c.raise(kDe);
  unsigned bits = sz * 8;
  u128 dividend =
      sz == 1 ? u128{c.reg(kRax, 2)} : (u128{c.reg(kRdx, sz)} << bits) | c.reg(kRax, sz);
  uint64_t q, rem;
  if (kSigned) {
    // Sign-extend the 2*bits dividend.
    s128 n = static_cast<s128>(dividend << (128 - 2 * bits)) >> (128 - 2 * bits);
    s128 d = sign_extend(b, sz);
    if (d == -1 && n == -(s128{1} << (2 * bits - 1))) return c.raise(kDe);
    s128 sq = n / d;
    s128 sr = n % d;
    s128 max = (s128{1} << (bits - 1)) - 1;
    if (sq > max || sq < -max - 1) return c.raise(kDe);
    q = static_cast<uint64_t>(sq) & size_mask(sz);
    rem = static_cast<uint64_t>(sr) & size_mask(sz);
  } else {
    u128 uq = dividend / b;
    if (uq > size_mask(sz)) return c.raise(kDe);
    q = static_cast<uint64_t>(uq);
    rem = static_cast<uint64_t>(dividend % b);
  }
  if (sz == 1) {
    c.set_reg(kRax, 2, (rem << 8) | q);
  } else {
    c.set_reg(kRax, sz, q);
    c.set_reg(kRdx, sz, rem);
  }
  return Flow::kNext;
}

template <BitOp Op, K D, bool kImm>
Flow bit(Cpu& c, const Insn& i) {
  unsigned sz = i.opsize, bits = sz * 8;
  uint64_t index = kImm ? i.imm : c.reg(i.r1, sz);
  Dst<D> d;
  uint64_t a;
  unsigned n;
  if constexpr (D == K::M) {
    d.ea = bit_operand_ea<kImm>(c, i, index, sz);
    n = index & (bits - 1);
    bool ok =
        Op == BitOp::kBt ? c.read(i.seg, d.ea, sz, &a) : c.read_for_write(i.seg, d.ea, sz, &a);
    if (!ok) return Flow::kFault;
  } else {
    n = index & (bits - 1);
    a = c.reg(i.r0, sz);
  }
  bool old = (a >> n) & 1;
  c.lflags.assign(rflags::kCf, old);
  if constexpr (Op == BitOp::kBt) return Flow::kNext;
  uint64_t r = bit_result<Op>(a, n);
  if (!d.store(c, i, sz, r)) return Flow::kFault;
  return Flow::kNext;
}

template <BitOp Op>
Handler bit_form(Form f) {
  switch (f) {
    case Form::kRR:
      return bit<Op, K::R, false>;
    case Form::kMR:
      return bit<Op, K::M, false>;
    case Form::kRI:
      return bit<Op, K::R, true>;
    case Form::kMI:
      return bit<Op, K::M, true>;
    default:
      return nullptr;
  }
}

template <bool kReverse, K S>
Flow bsf(Cpu& c, const Insn& i) {
  unsigned sz = i.opsize;
  uint64_t v;
  if (!read_src<S>(c, i, sz, &v)) return Flow::kFault;
  if (v == 0) {
    c.lflags.assign(rflags::kZf, true);
    return Flow::kNext;
  }
  unsigned r = kReverse ? 63 - std::countl_zero(v) : std::countr_zero(v);
  c.set_reg(i.r0, sz, r);
  c.lflags.assign(rflags::kZf, false);
  return Flow::kNext;
}

template <K D>
Flow xadd(Cpu& c, const Insn& i) {
  unsigned sz = i.opsize;
  Dst<D> d;
  uint64_t a;
  if (!d.load(c, i, sz, &a)) return Flow::kFault;
  uint64_t b = c.reg(i.r1, sz);
  uint64_t r = (a + b) & size_mask(sz);
  // SRC <- DEST, then DEST <- sum: with the same register twice, the sum wins.
  if constexpr (D == K::M) {
    if (!d.store(c, i, sz, r)) return Flow::kFault;
    c.set_reg(i.r1, sz, a);
  } else {
    c.set_reg(i.r1, sz, a);
    d.store(c, i, sz, r);
  }
  c.lflags.set_add(a, b, r, sz);
  return Flow::kNext;
}

template <K D>
Flow cmpxchg(Cpu& c, const Insn& i) {
  unsigned sz = i.opsize;
  Dst<D> d;
  uint64_t a;
  if (!d.load(c, i, sz, &a)) return Flow::kFault;
  uint64_t acc = c.reg(kRax, sz);
  c.lflags.set_sub(acc, a, (acc - a) & size_mask(sz), sz);
  if (acc == a) {
    if (!d.store(c, i, sz, c.reg(i.r1, sz))) return Flow::kFault;
  } else {
    if (D == K::M && !d.store(c, i, sz, a)) return Flow::kFault;
    c.set_reg(kRax, sz, a);
  }
  return Flow::kNext;
}

template <K D>
Flow setcc(Cpu& c, const Insn& i) {
  return write_dst<D>(c, i, 1, condition(c, i.op)) ? Flow::kNext : Flow::kFault;
}

template <K S>
Flow cmovcc(Cpu& c, const Insn& i) {
  uint64_t v;
  if (!read_src<S>(c, i, i.opsize, &v)) return Flow::kFault;
  if (condition(c, i.op))
    c.set_reg(i.r0, i.opsize, v);
  else if (i.opsize == 4)
    c.set_reg(i.r0, 4, c.reg(i.r0, 4));  // a 32-bit CMOV always zero-extends
  return Flow::kNext;
}

Flow bswap(Cpu& c, const Insn& i) {
  if (i.opsize == 8)
    c.gpr[i.r0] = __builtin_bswap64(c.gpr[i.r0]);
  else if (i.opsize == 4)
    c.set_reg(i.r0, 4, __builtin_bswap32(static_cast<uint32_t>(c.gpr[i.r0])));
  else
    c.set_reg(i.r0, 2, 0);  // undefined by the SDM; zero as hardware does
  return Flow::kNext;
}

Flow cbw(Cpu& c, const Insn& i) {
  unsigned half = i.opsize / 2;
  c.set_reg(kRax, i.opsize, static_cast<uint64_t>(sign_extend(c.reg(kRax, half), half)));
  return Flow::kNext;
}

Flow cwd(Cpu& c, const Insn& i) {
  bool negative = c.reg(kRax, i.opsize) & msb(i.opsize);
  c.set_reg(kRdx, i.opsize, negative ? ~0ull : 0);
  return Flow::kNext;
}

Flow lahf(Cpu& c, const Insn&) {
  c.set_reg8(kHighByte + kRax, static_cast<uint8_t>(c.get_rflags() & 0xFF) | 0x2);
  return Flow::kNext;
}

Flow sahf(Cpu& c, const Insn&) {
  uint64_t mask = rflags::kCf | rflags::kPf | rflags::kAf | rflags::kZf | rflags::kSf;
  c.lflags.put((c.lflags.get() & ~mask) | (c.reg8(kHighByte + kRax) & mask));
  return Flow::kNext;
}

Flow clc(Cpu& c, const Insn&) {
  c.lflags.assign(rflags::kCf, false);
  return Flow::kNext;
}
Flow stc(Cpu& c, const Insn&) {
  c.lflags.assign(rflags::kCf, true);
  return Flow::kNext;
}
Flow cmc(Cpu& c, const Insn&) {
  c.lflags.assign(rflags::kCf, !c.lflags.cf());
  return Flow::kNext;
}
Flow cld(Cpu& c, const Insn&) {
  c.set_rflags(c.get_rflags() & ~rflags::kDf);
  return Flow::kNext;
}
Flow std_(Cpu& c, const Insn&) {
  c.set_rflags(c.get_rflags() | rflags::kDf);
  return Flow::kNext;
}

}  // namespace

const Handler kBswap = bswap, kCbw = cbw, kCwd = cwd, kLahf = lahf, kSahf = sahf, kClc = clc,
              kStc = stc, kCmc = cmc, kCld = cld, kStd = std_;

Handler alu_binary(AluOp op, Form f, unsigned size) {
  switch (op) {
    case AluOp::kAdd:
      return alu2_form<AluOp::kAdd>(f, size);
    case AluOp::kOr:
      return alu2_form<AluOp::kOr>(f, size);
    case AluOp::kAdc:
      return alu2_form<AluOp::kAdc>(f, size);
    case AluOp::kSbb:
      return alu2_form<AluOp::kSbb>(f, size);
    case AluOp::kAnd:
      return alu2_form<AluOp::kAnd>(f, size);
    case AluOp::kSub:
      return alu2_form<AluOp::kSub>(f, size);
    case AluOp::kXor:
      return alu2_form<AluOp::kXor>(f, size);
    case AluOp::kCmp:
      return alu2_form<AluOp::kCmp>(f, size);
    case AluOp::kTest:
      return alu2_form<AluOp::kTest>(f, size);
  }
  return nullptr;
}

namespace {

template <UnaryOp Op>
Handler alu1_form(Form f, unsigned size) {
  if (f == Form::kR)
    return by_size(size,
                   [](auto n) -> Handler { return chained<alu1<Op, K::R, decltype(n)::value>>; });
  if (f == Form::kM)
    return by_size(size,
                   [](auto n) -> Handler { return chained<alu1<Op, K::M, decltype(n)::value>>; });
  return nullptr;
}

}  // namespace

Handler alu_unary(UnaryOp op, Form f, unsigned size) {
  switch (op) {
    case UnaryOp::kInc:
      return alu1_form<UnaryOp::kInc>(f, size);
    case UnaryOp::kDec:
      return alu1_form<UnaryOp::kDec>(f, size);
    case UnaryOp::kNeg:
      return alu1_form<UnaryOp::kNeg>(f, size);
    case UnaryOp::kNot:
      return alu1_form<UnaryOp::kNot>(f, size);
  }
  return nullptr;
}

Handler alu_shift(ShiftOp op, Form f, unsigned size) {
  switch (op) {
    case ShiftOp::kRol:
      return shift_form<ShiftOp::kRol>(f, size);
    case ShiftOp::kRor:
      return shift_form<ShiftOp::kRor>(f, size);
    case ShiftOp::kRcl:
      return shift_form<ShiftOp::kRcl>(f, size);
    case ShiftOp::kRcr:
      return shift_form<ShiftOp::kRcr>(f, size);
    case ShiftOp::kShl:
      return shift_form<ShiftOp::kShl>(f, size);
    case ShiftOp::kShr:
      return shift_form<ShiftOp::kShr>(f, size);
    case ShiftOp::kSal:
      return shift_form<ShiftOp::kSal>(f, size);
    case ShiftOp::kSar:
      return shift_form<ShiftOp::kSar>(f, size);
  }
  return nullptr;
}

Handler alu_double_shift(bool left, Form f) {
  switch (f) {
    case Form::kRRI:
      return left ? double_shift<true, K::R, false> : double_shift<false, K::R, false>;
    case Form::kMRI:
      return left ? double_shift<true, K::M, false> : double_shift<false, K::M, false>;
    case Form::kRRR:
      return left ? double_shift<true, K::R, true> : double_shift<false, K::R, true>;
    case Form::kMRR:
      return left ? double_shift<true, K::M, true> : double_shift<false, K::M, true>;
    default:
      return nullptr;
  }
}

Handler alu_mul(Form f) {
  return f == Form::kR ? mul<K::R> : f == Form::kM ? mul<K::M> : nullptr;
}
Handler alu_imul1(Form f) {
  return f == Form::kR ? imul1<K::R> : f == Form::kM ? imul1<K::M> : nullptr;
}
namespace {
template <K S, bool kImm>
Handler imul_sized(unsigned size) {
  return by_size(size,
                 [](auto n) -> Handler { return chained<imul<S, kImm, decltype(n)::value>>; });
}
}  // namespace

Handler alu_imul(Form f, unsigned size) {
  switch (f) {
    case Form::kRR:
      return imul_sized<K::R, false>(size);
    case Form::kRM:
      return imul_sized<K::M, false>(size);
    case Form::kRRI:
      return imul_sized<K::R, true>(size);
    case Form::kRMI:
      return imul_sized<K::M, true>(size);
    default:
      return nullptr;
  }
}
Handler alu_div(bool s, Form f) {
  if (f == Form::kR) return s ? div<true, K::R> : div<false, K::R>;
  if (f == Form::kM) return s ? div<true, K::M> : div<false, K::M>;
  return nullptr;
}
Handler alu_bit(BitOp op, Form f) {
  switch (op) {
    case BitOp::kBt:
      return bit_form<BitOp::kBt>(f);
    case BitOp::kBts:
      return bit_form<BitOp::kBts>(f);
    case BitOp::kBtr:
      return bit_form<BitOp::kBtr>(f);
    case BitOp::kBtc:
      return bit_form<BitOp::kBtc>(f);
  }
  return nullptr;
}
Handler alu_bsf(bool rev, Form f) {
  if (f == Form::kRR) return rev ? bsf<true, K::R> : bsf<false, K::R>;
  if (f == Form::kRM) return rev ? bsf<true, K::M> : bsf<false, K::M>;
  return nullptr;
}
Handler alu_xadd(Form f) {
  return f == Form::kRR ? xadd<K::R> : f == Form::kMR ? xadd<K::M> : nullptr;
}
Handler alu_cmpxchg(Form f) {
  return f == Form::kRR ? cmpxchg<K::R> : f == Form::kMR ? cmpxchg<K::M> : nullptr;
}
Handler alu_setcc(Form f) {
  return f == Form::kR ? chained<setcc<K::R>> : f == Form::kM ? chained<setcc<K::M>> : nullptr;
}
Handler alu_cmovcc(Form f) {
  return f == Form::kRR ? chained<cmovcc<K::R>> : f == Form::kRM ? chained<cmovcc<K::M>> : nullptr;
}

}  // namespace vessel::cpu

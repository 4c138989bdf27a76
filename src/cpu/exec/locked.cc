// The LOCK'ed instructions: ADD/ADC/SUB/SBB/AND/OR/XOR, INC/DEC/NEG/NOT,
// BTS/BTR/BTC, XADD, CMPXCHG, CMPXCHG8B/16B with a LOCK prefix, and XCHG
// with memory (always locked). The decoder binds these instead of the plain
// handlers when the record has insn_flag::kLock, so the plain forms pay
// nothing. Results and flags are those of the plain handlers (the same
// arithmetic, exec/alu_ops.h); the memory update is atomic (exec/locked.h).
#include "cpu/exec/locked.h"
#include "cpu/exec/alu_ops.h"
#include "cpu/exec/handlers.h"
#include "cpu/exec/operands.h"

namespace vessel::cpu {
namespace {

template <AluOp Op, K S, unsigned kSz>
Flow lock_alu2(Cpu& c, const Insn& i) {
  const unsigned sz = opsize_of<kSz>(i);
  uint64_t m = size_mask(sz);
  uint64_t b;
  read_src<S>(c, i, sz, &b);  // a register or an immediate: cannot fault
  bool cf = (Op == AluOp::kAdc || Op == AluOp::kSbb) && c.lflags.cf();
  uint64_t a;
  if (!locked_rmw(c, i.seg, c.effective_address(i), sz, &a,
                  [=](uint64_t x) { return alu_result<Op>(x, b, cf, m); }))
    return Flow::kFault;
  alu_flags<Op>(c.lflags, a, b, alu_result<Op>(a, b, cf, m), sz);
  return Flow::kNext;
}

template <UnaryOp Op, unsigned kSz>
Flow lock_alu1(Cpu& c, const Insn& i) {
  const unsigned sz = opsize_of<kSz>(i);
  uint64_t m = size_mask(sz);
  uint64_t a;
  if (!locked_rmw(c, i.seg, c.effective_address(i), sz, &a,
                  [=](uint64_t x) { return unary_result<Op>(x, m); }))
    return Flow::kFault;
  unary_flags<Op>(c.lflags, a, unary_result<Op>(a, m), sz);
  return Flow::kNext;
}

template <BitOp Op, bool kImm>
Flow lock_bit_op(Cpu& c, const Insn& i) {
  unsigned sz = i.opsize;
  uint64_t index = kImm ? i.imm : c.reg(i.r1, sz);
  uint64_t ea = bit_operand_ea<kImm>(c, i, index, sz);
  unsigned n = index & (sz * 8 - 1);
  uint64_t a;
  if (!locked_rmw(c, i.seg, ea, sz, &a, [=](uint64_t x) { return bit_result<Op>(x, n); }))
    return Flow::kFault;
  c.lflags.assign(rflags::kCf, (a >> n) & 1);
  return Flow::kNext;
}

Flow lock_xadd_m(Cpu& c, const Insn& i) {
  unsigned sz = i.opsize;
  uint64_t m = size_mask(sz);
  uint64_t b = c.reg(i.r1, sz);
  uint64_t a;
  if (!locked_rmw(c, i.seg, c.effective_address(i), sz, &a,
                  [=](uint64_t x) { return (x + b) & m; }))
    return Flow::kFault;
  c.set_reg(i.r1, sz, a);
  c.lflags.set_add(a, b, (a + b) & m, sz);
  return Flow::kNext;
}

Flow lock_cmpxchg_m(Cpu& c, const Insn& i) {
  unsigned sz = i.opsize;
  uint64_t acc = c.reg(kRax, sz);
  uint64_t src = c.reg(i.r1, sz);
  uint64_t a;
  // Unequal, the processor writes the value it read back: the same here.
  if (!locked_rmw(c, i.seg, c.effective_address(i), sz, &a,
                  [=](uint64_t x) { return x == acc ? src : x; }))
    return Flow::kFault;
  c.lflags.set_sub(acc, a, (acc - a) & size_mask(sz), sz);
  if (a != acc) c.set_reg(kRax, sz, a);
  return Flow::kNext;
}

// XCHG of memory with register r1 (MR form) or r0 (RM form).
template <bool kRegIsR1>
Flow lock_xchg_m(Cpu& c, const Insn& i) {
  unsigned r = kRegIsR1 ? i.r1 : i.r0;
  uint64_t v = c.reg(r, i.opsize);
  uint64_t old;
  if (!locked_rmw(c, i.seg, c.effective_address(i), i.opsize, &old, [=](uint64_t) { return v; }))
    return Flow::kFault;
  c.set_reg(r, i.opsize, old);
  return Flow::kNext;
}

Flow lock_cmpxchg8b(Cpu& c, const Insn& i) {
  uint64_t edx_eax = (c.reg(kRdx, 4) << 32) | c.reg(kRax, 4);
  uint64_t ecx_ebx = (c.reg(kRcx, 4) << 32) | c.reg(kRbx, 4);
  uint64_t m;
  if (!locked_rmw(c, i.seg, c.effective_address(i), 8, &m,
                  [=](uint64_t x) { return x == edx_eax ? ecx_ebx : x; }))
    return Flow::kFault;
  bool equal = m == edx_eax;
  if (!equal) {
    c.set_reg(kRax, 4, m & 0xFFFFFFFF);
    c.set_reg(kRdx, 4, m >> 32);
  }
  c.lflags.assign(rflags::kZf, equal);
  return Flow::kNext;
}

Flow lock_cmpxchg16b(Cpu& c, const Insn& i) {
  uint64_t ea = c.effective_address(i);
  uint64_t base = (i.seg == kFs || i.seg == kGs) ? c.seg[i.seg].base : 0;
  if ((ea + base) & 15) return c.raise(kGp, 0);
  uint64_t lo = c.gpr[kRax], hi = c.gpr[kRdx];
  bool equal;
  uint8_t* host;
  switch (c.lock_operand(i.seg, ea, 16, &host)) {
    case Cpu::Locked::kFault:
      return Flow::kFault;
    case Cpu::Locked::kHost:
      equal = host_cmpxchg16(host, &lo, &hi, c.gpr[kRbx], c.gpr[kRcx]);
      break;
    case Cpu::Locked::kSlow:
    default: {
      // MMIO: both halves checked for writing before anything is written.
      std::lock_guard lock(locked_slow_mutex());
      uint64_t m_lo, m_hi;
      if (!c.read_for_write(i.seg, ea, 8, &m_lo) || !c.read_for_write(i.seg, ea + 8, 8, &m_hi))
        return Flow::kFault;
      equal = m_lo == lo && m_hi == hi;
      if (!c.write(i.seg, ea, 8, equal ? c.gpr[kRbx] : m_lo) ||
          !c.write(i.seg, ea + 8, 8, equal ? c.gpr[kRcx] : m_hi))
        return Flow::kFault;
      lo = m_lo;
      hi = m_hi;
      break;
    }
  }
  if (!equal) {
    c.gpr[kRax] = lo;
    c.gpr[kRdx] = hi;
  }
  c.lflags.assign(rflags::kZf, equal);
  return Flow::kNext;
}

template <AluOp Op>
Handler lock_alu2_form(Form f, unsigned size) {
  if (f == Form::kMR)
    return by_size(size, [](auto n) -> Handler { return lock_alu2<Op, K::R, decltype(n)::value>; });
  if (f == Form::kMI)
    return by_size(size, [](auto n) -> Handler { return lock_alu2<Op, K::I, decltype(n)::value>; });
  return nullptr;
}

template <UnaryOp Op>
Handler lock_alu1_form(Form f, unsigned size) {
  if (f != Form::kM) return nullptr;
  return by_size(size, [](auto n) -> Handler { return lock_alu1<Op, decltype(n)::value>; });
}

template <BitOp Op>
Handler lock_bit_form(Form f) {
  return f == Form::kMR ? lock_bit_op<Op, false> : f == Form::kMI ? lock_bit_op<Op, true> : nullptr;
}

}  // namespace

const Handler kLockCmpxchg8b = lock_cmpxchg8b, kLockCmpxchg16b = lock_cmpxchg16b;

Handler lock_alu_binary(AluOp op, Form f, unsigned size) {
  switch (op) {
    case AluOp::kAdd:
      return lock_alu2_form<AluOp::kAdd>(f, size);
    case AluOp::kOr:
      return lock_alu2_form<AluOp::kOr>(f, size);
    case AluOp::kAdc:
      return lock_alu2_form<AluOp::kAdc>(f, size);
    case AluOp::kSbb:
      return lock_alu2_form<AluOp::kSbb>(f, size);
    case AluOp::kAnd:
      return lock_alu2_form<AluOp::kAnd>(f, size);
    case AluOp::kSub:
      return lock_alu2_form<AluOp::kSub>(f, size);
    case AluOp::kXor:
      return lock_alu2_form<AluOp::kXor>(f, size);
    case AluOp::kCmp:
    case AluOp::kTest:
      return nullptr;
  }
  return nullptr;
}

Handler lock_alu_unary(UnaryOp op, Form f, unsigned size) {
  switch (op) {
    case UnaryOp::kInc:
      return lock_alu1_form<UnaryOp::kInc>(f, size);
    case UnaryOp::kDec:
      return lock_alu1_form<UnaryOp::kDec>(f, size);
    case UnaryOp::kNeg:
      return lock_alu1_form<UnaryOp::kNeg>(f, size);
    case UnaryOp::kNot:
      return lock_alu1_form<UnaryOp::kNot>(f, size);
  }
  return nullptr;
}

Handler lock_bit(BitOp op, Form f) {
  switch (op) {
    case BitOp::kBts:
      return lock_bit_form<BitOp::kBts>(f);
    case BitOp::kBtr:
      return lock_bit_form<BitOp::kBtr>(f);
    case BitOp::kBtc:
      return lock_bit_form<BitOp::kBtc>(f);
    case BitOp::kBt:
      return nullptr;
  }
  return nullptr;
}

Handler lock_xadd(Form f) {
  return f == Form::kMR ? lock_xadd_m : nullptr;
}
Handler lock_cmpxchg(Form f) {
  return f == Form::kMR ? lock_cmpxchg_m : nullptr;
}
Handler lock_xchg(Form f) {
  return f == Form::kMR ? lock_xchg_m<true> : f == Form::kRM ? lock_xchg_m<false> : nullptr;
}

}  // namespace vessel::cpu

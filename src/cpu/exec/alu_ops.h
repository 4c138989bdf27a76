// The arithmetic of the ALU families as pure functions of their inputs, and
// the flags each one leaves, shared by the plain handlers (exec/alu.cc) and
// the LOCK'ed ones (exec/locked.cc). A LOCK'ed handler computes the result
// inside a host compare-and-swap loop, where the computation may run more
// than once, so it must not touch the CPU; the flags are set once after.
#pragma once

#include <bit>
#include <cstdint>

#include "cpu/exec/handlers.h"
#include "cpu/exec/operands.h"
#include "cpu/lazy_flags.h"

namespace vessel::cpu {

// Result of ALU operation Op on `a` (destination) and `b` (source) of the
// width `m` masks; `cf` is the carry in (ADC/SBB).
template <AluOp Op>
[[gnu::always_inline]] inline uint64_t alu_result(uint64_t a, uint64_t b, bool cf, uint64_t m) {
  switch (Op) {
    case AluOp::kAdd:
      return (a + b) & m;
    case AluOp::kAdc:
      return (a + b + cf) & m;
    case AluOp::kSub:
    case AluOp::kCmp:
      return (a - b) & m;
    case AluOp::kSbb:
      return (a - b - cf) & m;
    case AluOp::kAnd:
    case AluOp::kTest:
      return a & b;
    case AluOp::kOr:
      return a | b;
    case AluOp::kXor:
      return a ^ b;
  }
  return 0;
}

// The flags of `r = a Op b` (width `sz` bytes).
template <AluOp Op>
[[gnu::always_inline]] inline void alu_flags(LazyFlags& f, uint64_t a, uint64_t b, uint64_t r,
                                             unsigned sz) {
  switch (Op) {
    case AluOp::kAdd:
    case AluOp::kAdc:
      f.set_add(a, b, r, sz);
      break;
    case AluOp::kSub:
    case AluOp::kCmp:
    case AluOp::kSbb:
      f.set_sub(a, b, r, sz);
      break;
    default:
      f.set_logic(r, sz);
      break;
  }
}

template <UnaryOp Op>
[[gnu::always_inline]] inline uint64_t unary_result(uint64_t a, uint64_t m) {
  switch (Op) {
    case UnaryOp::kInc:
      return (a + 1) & m;
    case UnaryOp::kDec:
      return (a - 1) & m;
    case UnaryOp::kNeg:
      return (0 - a) & m;
    case UnaryOp::kNot:
      return ~a & m;
  }
  return 0;
}

// The flags of `r = Op a`; NOT changes none, INC/DEC keep CF.
template <UnaryOp Op>
[[gnu::always_inline]] inline void unary_flags(LazyFlags& f, uint64_t a, uint64_t r, unsigned sz) {
  switch (Op) {
    case UnaryOp::kInc:
      f.set_keep_cf(r, (a & 1) | ((a | 1) & ~r), sz);
      break;
    case UnaryOp::kDec:
      f.set_keep_cf(r, (~a & 1) | ((~a | 1) & r), sz);
      break;
    case UnaryOp::kNeg:
      f.set_sub(0, a, r, sz);
      break;
    case UnaryOp::kNot:
      break;
  }
}

// BTS/BTR/BTC: the operand with bit `n` set, cleared or complemented.
template <BitOp Op>
[[gnu::always_inline]] inline uint64_t bit_result(uint64_t a, unsigned n) {
  return Op == BitOp::kBts   ? a | (1ull << n)
         : Op == BitOp::kBtr ? a & ~(1ull << n)
         : Op == BitOp::kBtc ? a ^ (1ull << n)
                             : a;
}

// The address of a bit-test instruction's memory operand: a register bit
// offset (signed) addresses memory beyond the operand, in operand-size units.
template <bool kImm>
[[gnu::always_inline]] inline uint64_t bit_operand_ea(const Cpu& c, const Insn& i, uint64_t index,
                                                      unsigned sz) {
  unsigned bits = sz * 8;
  int64_t off = kImm ? 0 : sign_extend(index, sz) >> std::countr_zero(bits);
  return (c.effective_address(i) + static_cast<uint64_t>(off * static_cast<int64_t>(sz))) &
         size_mask(i.addrsize);
}

}  // namespace vessel::cpu

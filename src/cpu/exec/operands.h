// Operand access for handlers, specialised at compile time by operand form:
// R (register r0/r1), M (the memory operand), I (the immediate). A handler
// template instantiated per form is what the decoder binds, so the register
// form never tests for memory and vice versa.
#pragma once

#include <cstdint>
#include <type_traits>

#include "cpu/cpu.h"

namespace vessel::cpu {

enum class K : uint8_t { R, M, I };

// Operand size: handlers are instantiated per size (kSz 1, 2, 4, 8), so the
// common forms carry no size switch; kSz 0 reads the size from the record.
template <unsigned kSz>
inline unsigned opsize_of(const Insn& i) {
  return kSz ? kSz : i.opsize;
}

// The instantiation for operand size `size`: calls `pick` with
// std::integral_constant<unsigned, N> for N = 1, 2, 4, 8, or 0 (the generic
// handler) for any other size.
template <typename Pick>
Handler by_size(unsigned size, Pick pick) {
  switch (size) {
    case 1:
      return pick(std::integral_constant<unsigned, 1>{});
    case 2:
      return pick(std::integral_constant<unsigned, 2>{});
    case 4:
      return pick(std::integral_constant<unsigned, 4>{});
    case 8:
      return pick(std::integral_constant<unsigned, 8>{});
    default:
      return pick(std::integral_constant<unsigned, 0>{});
  }
}

// Reads source operand (register r1, memory or immediate).
// kFast: the fast variant of a handler (Cpu::read and exec/chain.h).
template <K S, bool kFast = false>
[[gnu::always_inline]] inline bool read_src(Cpu& c, const Insn& i, unsigned size, uint64_t* v) {
  if constexpr (S == K::R) {
    *v = c.reg(i.r1, size);
    return true;
  } else if constexpr (S == K::M) {
    return c.read<kFast>(i.seg, c.effective_address(i), size, v);
  } else {
    *v = i.imm & size_mask(size);
    return true;
  }
}

// The destination operand (register r0 or memory) of a read-modify-write.
template <K D, bool kFast = false>
struct Dst {
  uint64_t ea = 0;
  [[gnu::always_inline]] bool load(Cpu& c, const Insn& i, unsigned size, uint64_t* v,
                                   bool will_write = true) {
    if constexpr (D == K::R) {
      *v = c.reg(i.r0, size);
      return true;
    } else {
      ea = c.effective_address(i);
      return will_write ? c.read_for_write<kFast>(i.seg, ea, size, v)
                        : c.read<kFast>(i.seg, ea, size, v);
    }
  }
  [[gnu::always_inline]] bool store(Cpu& c, const Insn& i, unsigned size, uint64_t v) {
    if constexpr (D == K::R) {
      c.set_reg(i.r0, size, v);
      return true;
    } else {
      return c.write<kFast>(i.seg, ea, size, v);
    }
  }
};

// Writes a destination without reading it first (MOV, SETcc, ...).
template <K D, bool kFast = false>
[[gnu::always_inline]] inline bool write_dst(Cpu& c, const Insn& i, unsigned size, uint64_t v) {
  if constexpr (D == K::R) {
    c.set_reg(i.r0, size, v);
    return true;
  } else {
    return c.write<kFast>(i.seg, c.effective_address(i), size, v);
  }
}

inline int64_t sign_extend(uint64_t v, unsigned size) {
  unsigned shift = 64 - size * 8;
  return static_cast<int64_t>(v << shift) >> shift;
}

// Condition codes in the encoding order of Jcc/SETcc/CMOVcc.
[[gnu::always_inline]] inline bool condition(const Cpu& c, unsigned cc) {
  const LazyFlags& f = c.lflags;
  bool r;
  switch (cc >> 1) {
    case 0:
      r = f.of();
      break;
    case 1:
      r = f.cf();
      break;
    case 2:
      r = f.zf();
      break;
    case 3:
      r = f.cf() || f.zf();
      break;
    case 4:
      r = f.sf();
      break;
    case 5:
      r = f.pf();
      break;
    case 6:
      r = f.sf() != f.of();
      break;
    default:
      r = f.zf() || (f.sf() != f.of());
      break;
  }
  return (cc & 1) ? !r : r;
}

}  // namespace vessel::cpu

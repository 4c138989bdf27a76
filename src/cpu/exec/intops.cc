// Handlers of exec/intops.h. Flags follow each instruction's "Flags
// Affected" in the SDM (Vol. 2); flags the SDM leaves undefined get the
// values the shared helpers compute.
#include "cpu/exec/intops.h"

#include <bit>

#include "cpu/exec/operands.h"

namespace vessel::cpu {
namespace {

using u128 = unsigned __int128;

template <bool kMem>
bool read_rm(Cpu& c, const Insn& i, unsigned size, uint64_t* v) {
  if constexpr (kMem) return c.read(i.seg, c.effective_address(i), size, v);
  *v = c.reg(i.size2, size);
  return true;
}

uint64_t byte_swap(uint64_t v, unsigned size) {
  switch (size) {
    case 2:
      return __builtin_bswap16(static_cast<uint16_t>(v));
    case 4:
      return __builtin_bswap32(static_cast<uint32_t>(v));
    default:
      return __builtin_bswap64(v);
  }
}

uint64_t deposit(uint64_t src, uint64_t mask) {
  uint64_t r = 0;
  for (uint64_t bit = 1; mask != 0; bit <<= 1) {
    uint64_t low = mask & (0 - mask);
    if (src & bit) r |= low;
    mask &= mask - 1;
  }
  return r;
}

uint64_t extract(uint64_t src, uint64_t mask) {
  uint64_t r = 0;
  for (uint64_t bit = 1; mask != 0; bit <<= 1) {
    uint64_t low = mask & (0 - mask);
    if (src & low) r |= bit;
    mask &= mask - 1;
  }
  return r;
}

// CMPXCHG8B m64 / CMPXCHG16B m128: compare rDX:rAX with the operand; equal:
// store rCX:rBX, else load rDX:rAX (the operand is written back either way,
// so both halves are checked for writing before anything changes).
template <bool kWide>
Flow cmpxchg_wide(Cpu& c, const Insn& i) {
  uint64_t ea = c.effective_address(i);
  uint64_t lo = 0, hi = 0;
  if constexpr (kWide) {
    uint64_t base = (i.seg == kFs || i.seg == kGs) ? c.seg[i.seg].base : 0;
    if ((ea + base) & 15) return c.raise(kGp, 0);
    if (!c.read_for_write(i.seg, ea, 8, &lo) || !c.read_for_write(i.seg, ea + 8, 8, &hi))
      return Flow::kFault;
    bool equal = lo == c.gpr[kRax] && hi == c.gpr[kRdx];
    uint64_t new_lo = equal ? c.gpr[kRbx] : lo, new_hi = equal ? c.gpr[kRcx] : hi;
    if (!c.write(i.seg, ea, 8, new_lo) || !c.write(i.seg, ea + 8, 8, new_hi)) return Flow::kFault;
    if (!equal) {
      c.gpr[kRax] = lo;
      c.gpr[kRdx] = hi;
    }
    c.lflags.assign(rflags::kZf, equal);
  } else {
    uint64_t m;
    if (!c.read_for_write(i.seg, ea, 8, &m)) return Flow::kFault;
    uint64_t edx_eax = (c.reg(kRdx, 4) << 32) | c.reg(kRax, 4);
    bool equal = m == edx_eax;
    uint64_t ecx_ebx = (c.reg(kRcx, 4) << 32) | c.reg(kRbx, 4);
    if (!c.write(i.seg, ea, 8, equal ? ecx_ebx : m)) return Flow::kFault;
    if (!equal) {
      c.set_reg(kRax, 4, m & 0xFFFFFFFF);
      c.set_reg(kRdx, 4, m >> 32);
    }
    c.lflags.assign(rflags::kZf, equal);
  }
  return Flow::kNext;
}

template <IntOp Op, bool kMem>
Flow intop_impl(Cpu& c, const Insn& i) {
  unsigned sz = i.opsize, bits = sz * 8;
  uint64_t m = size_mask(sz);
  uint64_t count_mask = sz == 8 ? 63 : 31;
  if constexpr (Op == IntOp::kMovbeStore) {
    return c.write(i.seg, c.effective_address(i), sz, byte_swap(c.reg(i.r0, sz), sz))
               ? Flow::kNext
               : Flow::kFault;
  }
  uint64_t src;
  if (!read_rm<kMem>(c, i, sz, &src)) return Flow::kFault;
  uint64_t v = Op == IntOp::kMulx ? 0 : c.reg(i.r1 == kNoReg ? 0 : i.r1, sz);
  uint64_t r = 0;
  unsigned dest = i.r0;
  switch (Op) {
    case IntOp::kMovbeLoad:
      r = byte_swap(src, sz);
      break;
    case IntOp::kPopcnt:
      r = std::popcount(src);
      c.lflags.put(r == 0 ? rflags::kZf : 0);
      break;
    case IntOp::kLzcnt:
      r = src == 0 ? bits : std::countl_zero(src) - (64 - bits);
      c.lflags.set_explicit(r, sz, src == 0, false);
      break;
    case IntOp::kTzcnt:
      r = src == 0 ? bits : std::countr_zero(src);
      c.lflags.set_explicit(r, sz, src == 0, false);
      break;
    case IntOp::kAndn:
      r = ~v & src & m;
      c.lflags.set_logic(r, sz);
      break;
    case IntOp::kBextr: {
      unsigned start = v & 0xFF, len = (v >> 8) & 0xFF;
      r = start < bits ? src >> start : 0;
      if (len < 64) r &= (uint64_t{1} << len) - 1;
      c.lflags.set_logic(r, sz);
      break;
    }
    case IntOp::kBlsi:
      r = src & (0 - src) & m;
      c.lflags.set_explicit(r, sz, src != 0, false);
      dest = i.r1;
      break;
    case IntOp::kBlsmsk:
      r = (src ^ (src - 1)) & m;
      c.lflags.set_explicit(r, sz, src == 0, false);
      dest = i.r1;
      break;
    case IntOp::kBlsr:
      r = src & (src - 1) & m;
      c.lflags.set_explicit(r, sz, src == 0, false);
      dest = i.r1;
      break;
    case IntOp::kBzhi: {
      unsigned n = v & 0xFF;
      r = n < bits ? src & ((uint64_t{1} << n) - 1) : src;
      c.lflags.set_explicit(r, sz, n > bits - 1, false);
      break;
    }
    case IntOp::kMulx: {
      u128 p = u128{c.reg(kRdx, sz)} * src;
      c.set_reg(i.r1, sz, static_cast<uint64_t>(p) & m);  // low half first:
      r = static_cast<uint64_t>(p >> bits) & m;           // the high half wins
      break;
    }
    case IntOp::kPdep:
      r = deposit(v, src) & m;
      break;
    case IntOp::kPext:
      r = extract(v, src) & m;
      break;
    case IntOp::kRorx: {
      unsigned n = i.imm & count_mask;
      r = n ? ((src >> n) | (src << (bits - n))) & m : src;
      break;
    }
    case IntOp::kSarx:
      r = static_cast<uint64_t>(sign_extend(src, sz) >> (v & count_mask)) & m;
      break;
    case IntOp::kShlx:
      r = (src << (v & count_mask)) & m;
      break;
    case IntOp::kShrx:
      r = src >> (v & count_mask);
      break;
    case IntOp::kAdcx:
    case IntOp::kAdox: {
      constexpr uint64_t kFlag = Op == IntOp::kAdcx ? rflags::kCf : rflags::kOf;
      bool carry_in = Op == IntOp::kAdcx ? c.lflags.cf() : c.lflags.of();
      uint64_t a = c.reg(i.r0, sz);
      u128 sum = u128{a} + src + carry_in;
      r = static_cast<uint64_t>(sum) & m;
      c.lflags.assign(kFlag, ((sum >> bits) & 1) != 0);
      break;
    }
    default:
      break;
  }
  c.set_reg(dest, sz, r);
  return Flow::kNext;
}

template <IntOp Op>
Handler pick(bool mem) {
  return mem ? intop_impl<Op, true> : intop_impl<Op, false>;
}

SegmentCache flat(uint16_t selector, bool code, bool l, uint8_t dpl) {
  SegmentCache s;
  s.selector = selector;
  s.base = 0;
  s.limit = 0xFFFFFFFF;
  s.g = s.s = s.present = true;
  s.dpl = dpl;
  s.type = code ? 0xB : 0x3;
  s.l = l;
  s.db = !l;
  return s;
}

// SYSENTER (SDM Vol. 2): to CPL 0 at IA32_SYSENTER_CS:EIP with the stack at
// IA32_SYSENTER_ESP, flat segments from the CS MSR.
Flow sysenter(Cpu& c, const Insn&) {
  if (!c.protected_mode() || (c.sysenter_cs & 0xFFFC) == 0) return c.raise(kGp, 0);
  bool lm = c.long_mode();
  c.set_rflags(c.get_rflags() & ~(rflags::kVm | rflags::kIf | rflags::kRf));
  uint16_t cs = static_cast<uint16_t>(c.sysenter_cs & 0xFFFC);
  c.set_segment(kCs, flat(cs, true, lm, 0));
  c.set_segment(kSs, flat(static_cast<uint16_t>(cs + 8), false, false, 0));
  c.gpr[kRsp] = lm ? c.sysenter_esp : c.sysenter_esp & 0xFFFFFFFF;
  c.next_rip = lm ? c.sysenter_eip : c.sysenter_eip & 0xFFFFFFFF;
  return Flow::kEnd;
}

// SYSEXIT: from CPL 0 to CPL 3 at rDX with the stack at rCX; REX.W returns
// to 64-bit code (selectors IA32_SYSENTER_CS + 32 / + 40), else to 32-bit
// code (+ 16 / + 24).
Flow sysexit(Cpu& c, const Insn& i) {
  if (!c.protected_mode() || c.cpl() != 0 || (c.sysenter_cs & 0xFFFC) == 0) return c.raise(kGp, 0);
  bool to64 = i.opsize == 8;
  uint64_t rip = to64 ? c.gpr[kRdx] : c.gpr[kRdx] & 0xFFFFFFFF;
  uint64_t rsp = to64 ? c.gpr[kRcx] : c.gpr[kRcx] & 0xFFFFFFFF;
  auto canonical = [](uint64_t a) {
    return static_cast<uint64_t>(static_cast<int64_t>(a << 16) >> 16) == a;
  };
  if (to64 && (!canonical(rip) || !canonical(rsp))) return c.raise(kGp, 0);
  uint16_t cs = static_cast<uint16_t>((c.sysenter_cs + (to64 ? 32 : 16)) | 3);
  c.set_segment(kCs, flat(cs, true, to64, 3));
  c.set_segment(kSs, flat(static_cast<uint16_t>(cs + 8), false, false, 3));
  c.gpr[kRsp] = rsp;
  c.next_rip = rip;
  return Flow::kEnd;
}

}  // namespace

Handler intop(IntOp op, bool mem) {
  switch (op) {
    case IntOp::kCmpxchg8b:
      return mem ? cmpxchg_wide<false> : nullptr;
    case IntOp::kCmpxchg16b:
      return mem ? cmpxchg_wide<true> : nullptr;
    case IntOp::kMovbeLoad:
      return mem ? pick<IntOp::kMovbeLoad>(true) : nullptr;
    case IntOp::kMovbeStore:
      return mem ? pick<IntOp::kMovbeStore>(true) : nullptr;
    case IntOp::kPopcnt:
      return pick<IntOp::kPopcnt>(mem);
    case IntOp::kLzcnt:
      return pick<IntOp::kLzcnt>(mem);
    case IntOp::kTzcnt:
      return pick<IntOp::kTzcnt>(mem);
    case IntOp::kAndn:
      return pick<IntOp::kAndn>(mem);
    case IntOp::kBextr:
      return pick<IntOp::kBextr>(mem);
    case IntOp::kBlsi:
      return pick<IntOp::kBlsi>(mem);
    case IntOp::kBlsmsk:
      return pick<IntOp::kBlsmsk>(mem);
    case IntOp::kBlsr:
      return pick<IntOp::kBlsr>(mem);
    case IntOp::kBzhi:
      return pick<IntOp::kBzhi>(mem);
    case IntOp::kMulx:
      return pick<IntOp::kMulx>(mem);
    case IntOp::kPdep:
      return pick<IntOp::kPdep>(mem);
    case IntOp::kPext:
      return pick<IntOp::kPext>(mem);
    case IntOp::kRorx:
      return pick<IntOp::kRorx>(mem);
    case IntOp::kSarx:
      return pick<IntOp::kSarx>(mem);
    case IntOp::kShlx:
      return pick<IntOp::kShlx>(mem);
    case IntOp::kShrx:
      return pick<IntOp::kShrx>(mem);
    case IntOp::kAdcx:
      return pick<IntOp::kAdcx>(mem);
    case IntOp::kAdox:
      return pick<IntOp::kAdox>(mem);
  }
  return nullptr;
}

const Handler kSysenter = sysenter, kSysexit = sysexit;

}  // namespace vessel::cpu

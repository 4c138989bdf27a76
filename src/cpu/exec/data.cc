// Data movement: MOV (registers, memory, immediates, segment registers),
// MOVZX/MOVSX/MOVSXD, LEA, XCHG, the stack (PUSH/POP of registers, memory,
// immediates, segment registers and flags, PUSHA/POPA, ENTER/LEAVE), XLAT.
#include "cpu/exec/chain.h"
#include "cpu/exec/handlers.h"
#include "cpu/exec/operands.h"

namespace vessel::cpu {
namespace {

template <K D, K S, unsigned kSz, bool kFast = false>
Flow mov(Cpu& c, const Insn& i) {
  const unsigned sz = opsize_of<kSz>(i);
  uint64_t v;
  if (!read_src<S, kFast>(c, i, sz, &v)) return Flow::kFault;
  return write_dst<D, kFast>(c, i, sz, v) ? Flow::kNext : Flow::kFault;
}

// kSz: the destination's size, kSrc the source's (0: from the record).
template <bool kSign, K S, unsigned kSz, unsigned kSrc, bool kFast = false>
Flow movx(Cpu& c, const Insn& i) {
  const unsigned sz = opsize_of<kSz>(i);
  const unsigned src = kSrc ? kSrc : i.size2;
  uint64_t v;
  if constexpr (S == K::R) {
    v = c.reg(i.r1, src);
  } else if (!c.read<kFast>(i.seg, c.effective_address(i), src, &v)) {
    return Flow::kFault;
  }
  if (kSign) v = static_cast<uint64_t>(sign_extend(v, src));
  c.set_reg(i.r0, sz, v & size_mask(sz));
  return Flow::kNext;
}

template <unsigned kSz>
Flow lea(Cpu& c, const Insn& i) {
  const unsigned sz = opsize_of<kSz>(i);
  c.set_reg(i.r0, sz, c.effective_address(i) & size_mask(sz));
  return Flow::kNext;
}

Flow xchg_rr(Cpu& c, const Insn& i) {
  uint64_t a = c.reg(i.r0, i.opsize), b = c.reg(i.r1, i.opsize);
  c.set_reg(i.r0, i.opsize, b);
  c.set_reg(i.r1, i.opsize, a);
  return Flow::kNext;
}

template <K S, unsigned kSz, bool kFast = false>
Flow push(Cpu& c, const Insn& i) {
  const unsigned sz = opsize_of<kSz>(i);
  uint64_t v;
  if constexpr (S == K::R) {
    v = c.reg(i.r0, sz);
  } else if constexpr (S == K::M) {
    if (!c.read<kFast>(i.seg, c.effective_address(i), sz, &v)) return Flow::kFault;
  } else {
    v = i.imm & size_mask(sz);
  }
  return c.push<kFast>(v, sz) ? Flow::kNext : Flow::kFault;
}

template <K D, unsigned kSz, bool kFast = false>
Flow pop(Cpu& c, const Insn& i) {
  const unsigned sz = opsize_of<kSz>(i);
  uint64_t saved = c.gpr[kRsp];
  uint64_t v;
  if (!c.pop<kFast>(sz, &v)) return Flow::kFault;
  if (!write_dst<D, kFast>(c, i, sz, v)) {  // the address uses the incremented RSP
    c.gpr[kRsp] = saved;
    return Flow::kFault;
  }
  return Flow::kNext;
}

template <K S>
Flow mov_to_sreg(Cpu& c, const Insn& i) {
  uint64_t v;
  if constexpr (S == K::R) {
    v = c.reg(i.r1, 2);
  } else if (!c.read(i.seg, c.effective_address(i), 2, &v)) {
    return Flow::kFault;
  }
  if (!c.load_segment(i.r0, static_cast<uint16_t>(v))) return Flow::kFault;
  if (i.r0 == kSs) {
    c.interrupt_shadow = true;
    return Flow::kEnd;
  }
  return Flow::kNext;
}

template <K D>
Flow mov_from_sreg(Cpu& c, const Insn& i) {
  uint64_t v = c.seg[i.r1].selector;
  if constexpr (D == K::R) {
    c.set_reg(i.r0, i.opsize, v);
    return Flow::kNext;
  } else {
    return c.write(i.seg, c.effective_address(i), 2, v) ? Flow::kNext : Flow::kFault;
  }
}

Flow push_sreg(Cpu& c, const Insn& i) {
  return c.push(c.seg[i.r0].selector, i.opsize) ? Flow::kNext : Flow::kFault;
}

Flow pop_sreg(Cpu& c, const Insn& i) {
  uint64_t saved = c.gpr[kRsp];
  uint64_t v;
  if (!c.pop(i.opsize, &v)) return Flow::kFault;
  if (!c.load_segment(i.r0, static_cast<uint16_t>(v))) {
    c.gpr[kRsp] = saved;
    return Flow::kFault;
  }
  if (i.r0 == kSs) {
    c.interrupt_shadow = true;
    return Flow::kEnd;
  }
  return Flow::kNext;
}

Flow pushf(Cpu& c, const Insn& i) {
  if ((c.rflags_system() & rflags::kVm) && c.iopl() < 3) return c.raise(kGp, 0);
  uint64_t f = c.get_rflags() & ~(rflags::kVm | rflags::kRf);
  return c.push(f & size_mask(i.opsize), i.opsize) ? Flow::kNext : Flow::kFault;
}

Flow popf(Cpu& c, const Insn& i) {
  if ((c.rflags_system() & rflags::kVm) && c.iopl() < 3) return c.raise(kGp, 0);
  uint64_t v;
  if (!c.pop(i.opsize, &v)) return Flow::kFault;
  uint64_t old = c.get_rflags();
  uint64_t changeable = rflags::kArith | rflags::kTf | rflags::kDf | rflags::kNt | rflags::kAc |
                        rflags::kId | rflags::kIf | rflags::kIopl;
  if (c.protected_mode()) {
    if (c.cpl() > 0) changeable &= ~rflags::kIopl;
    if (c.cpl() > c.iopl()) changeable &= ~rflags::kIf;
  }
  if (i.opsize == 2) changeable &= 0xFFFF;
  c.set_rflags((old & ~changeable) | (v & changeable));
  return Flow::kEnd;  // TF or IF may have changed
}

Flow pusha(Cpu& c, const Insn& i) {
  uint64_t saved = c.gpr[kRsp];
  uint64_t sp = c.reg(kRsp, i.opsize);
  for (unsigned r = 0; r < 8; ++r) {
    if (!c.push(r == kRsp ? sp : c.reg(r, i.opsize), i.opsize)) {
      c.gpr[kRsp] = saved;
      return Flow::kFault;
    }
  }
  return Flow::kNext;
}

Flow popa(Cpu& c, const Insn& i) {
  uint64_t saved = c.gpr[kRsp];
  uint64_t v[8];
  for (int r = 7; r >= 0; --r) {
    if (!c.pop(i.opsize, &v[r])) {
      c.gpr[kRsp] = saved;
      return Flow::kFault;
    }
  }
  for (unsigned r = 0; r < 8; ++r)
    if (r != kRsp) c.set_reg(r, i.opsize, v[r]);
  return Flow::kNext;
}

Flow nop(Cpu&, const Insn&) {
  return Flow::kNext;
}

Flow enter(Cpu& c, const Insn& i) {
  unsigned size = i.opsize;
  unsigned level = i.imm2 & 31;
  uint64_t saved_rsp = c.gpr[kRsp], saved_rbp = c.gpr[kRbp];
  auto fail = [&] {
    c.gpr[kRsp] = saved_rsp;
    c.gpr[kRbp] = saved_rbp;
    return Flow::kFault;
  };
  if (!c.push(c.reg(kRbp, size), size)) return fail();
  uint64_t frame = c.gpr[kRsp] & c.sp_mask();
  uint64_t bp = c.gpr[kRbp];
  for (unsigned k = 1; k < level; ++k) {
    bp = (bp - size) & c.sp_mask();
    uint64_t v;
    if (!c.read(kSs, bp, size, &v) || !c.push(v, size)) return fail();
  }
  if (level > 0 && !c.push(frame, size)) return fail();
  uint64_t sp = (c.gpr[kRsp] - (i.imm & 0xFFFF)) & c.sp_mask();
  uint64_t probe;
  if (!c.read_for_write(kSs, sp, 1, &probe)) return fail();
  c.set_reg(kRbp, size, frame);
  c.gpr[kRsp] = (c.gpr[kRsp] & ~c.sp_mask()) | sp;
  return Flow::kNext;
}

Flow leave(Cpu& c, const Insn& i) {
  uint64_t saved = c.gpr[kRsp];
  c.gpr[kRsp] = (c.gpr[kRsp] & ~c.sp_mask()) | (c.gpr[kRbp] & c.sp_mask());
  uint64_t v;
  if (!c.pop(i.opsize, &v)) {
    c.gpr[kRsp] = saved;
    return Flow::kFault;
  }
  c.set_reg(kRbp, i.opsize, v);
  return Flow::kNext;
}

Flow xlat(Cpu& c, const Insn& i) {
  uint64_t a = (c.gpr[kRbx] + (c.gpr[kRax] & 0xFF)) & size_mask(i.addrsize);
  uint64_t v;
  if (!c.read(i.seg, a, 1, &v)) return Flow::kFault;
  c.set_reg8(kRax, static_cast<uint8_t>(v));
  return Flow::kNext;
}

}  // namespace

const Handler kPushSreg = push_sreg, kPopSreg = pop_sreg, kPushf = pushf, kPopf = popf,
              kPusha = pusha, kPopa = popa, kNop = nop, kEnter = enter, kLeave = leave,
              kXlat = xlat;

namespace {

template <K D, K S>
Handler mov_sized(unsigned size) {
  return by_size(size, [](auto n) -> Handler {
    constexpr unsigned kSz = decltype(n)::value;
    if constexpr (D == K::M || S == K::M)
      return chained_fast<mov<D, S, kSz, true>, mov<D, S, kSz>>;
    else
      return chained<mov<D, S, kSz>>;
  });
}

template <bool kSign, K S, unsigned kSz, unsigned kSrc>
Handler chained_movx() {
  if constexpr (S == K::M)
    return chained_fast<movx<kSign, S, kSz, kSrc, true>, movx<kSign, S, kSz, kSrc>>;
  else
    return chained<movx<kSign, S, kSz, kSrc>>;
}

template <bool kSign, K S>
Handler movx_sized(unsigned size, unsigned src_size) {
  // The common pairs get their own handler; the rest read sizes from the record.
  if (size == 8 && src_size == 4) return chained_movx<kSign, S, 8, 4>();
  if (src_size == 1)
    return by_size(size, [](auto n) { return chained_movx<kSign, S, decltype(n)::value, 1>(); });
  if (src_size == 2)
    return by_size(size, [](auto n) { return chained_movx<kSign, S, decltype(n)::value, 2>(); });
  return movx<kSign, S, 0, 0>;
}

template <K S>
Handler push_sized(unsigned size) {
  return by_size(size, [](auto n) -> Handler {
    constexpr unsigned kSz = decltype(n)::value;
    return chained_fast<push<S, kSz, true>, push<S, kSz>>;
  });
}

template <K D>
Handler pop_sized(unsigned size) {
  return by_size(size, [](auto n) -> Handler {
    constexpr unsigned kSz = decltype(n)::value;
    return chained_fast<pop<D, kSz, true>, pop<D, kSz>>;
  });
}

}  // namespace

Handler data_mov(Form f, unsigned size) {
  switch (f) {
    case Form::kRR:
      return mov_sized<K::R, K::R>(size);
    case Form::kRM:
      return mov_sized<K::R, K::M>(size);
    case Form::kMR:
      return mov_sized<K::M, K::R>(size);
    case Form::kRI:
      return mov_sized<K::R, K::I>(size);
    case Form::kMI:
      return mov_sized<K::M, K::I>(size);
    default:
      return nullptr;
  }
}
Handler data_movx(bool s, Form f, unsigned size, unsigned src_size) {
  if (f == Form::kRR)
    return s ? movx_sized<true, K::R>(size, src_size) : movx_sized<false, K::R>(size, src_size);
  if (f == Form::kRM)
    return s ? movx_sized<true, K::M>(size, src_size) : movx_sized<false, K::M>(size, src_size);
  return nullptr;
}
Handler data_lea(unsigned size) {
  return by_size(size, [](auto n) -> Handler { return chained<lea<decltype(n)::value>>; });
}
Handler data_xchg(Form f) {
  switch (f) {
    case Form::kRR:
      return xchg_rr;
    case Form::kMR:
    case Form::kRM:
      return lock_xchg(f);  // XCHG with memory is always locked (exec/locked.cc)
    default:
      return nullptr;
  }
}
Handler data_push(Form f, unsigned size) {
  switch (f) {
    case Form::kR:
      return push_sized<K::R>(size);
    case Form::kM:
      return push_sized<K::M>(size);
    case Form::kI:
      return push_sized<K::I>(size);
    default:
      return nullptr;
  }
}
Handler data_pop(Form f, unsigned size) {
  return f == Form::kR ? pop_sized<K::R>(size) : f == Form::kM ? pop_sized<K::M>(size) : nullptr;
}
Handler data_mov_to_sreg(Form f) {
  return f == Form::kRR ? mov_to_sreg<K::R> : f == Form::kRM ? mov_to_sreg<K::M> : nullptr;
}
Handler data_mov_from_sreg(Form f) {
  return f == Form::kRR ? mov_from_sreg<K::R> : f == Form::kMR ? mov_from_sreg<K::M> : nullptr;
}

}  // namespace vessel::cpu

// Control flow: near and far JMP/CALL/RET, Jcc, LOOP/JCXZ, INT n/INT3/INTO/
// INT1, IRET and HLT. Branch handlers set next_rip and end the block; a
// conditional branch that is not taken lets the block go on (a side exit).
#include "cpu/exec/chain.h"
#include "cpu/exec/handlers.h"
#include "cpu/exec/operands.h"

namespace vessel::cpu {
namespace {

// Near branch target: operand-size wrap outside 64-bit mode.
inline uint64_t near_target(const Cpu& c, const Insn& i, uint64_t target) {
  return c.mode64() && i.opsize != 2 ? target : target & size_mask(i.opsize);
}

inline Flow jump(Cpu& c, const Insn& i, uint64_t target) {
  target = near_target(c, i, target);
  if (!c.mode64() && target > c.seg[kCs].limit) return c.raise(kGp, 0);
  c.next_rip = target;
  return Flow::kEnd;
}

Flow jmp_rel(Cpu& c, const Insn& i) {
  return jump(c, i, c.next_rip + i.imm);
}

// Conditional branches are side exits: not taken, the block goes on.
template <unsigned kCc>
Flow jcc(Cpu& c, const Insn& i) {
  if (!condition(c, kCc)) return Flow::kNext;
  return jump(c, i, c.next_rip + i.imm);
}

template <bool kFast>
Flow call_rel(Cpu& c, const Insn& i) {
  uint64_t target = near_target(c, i, c.next_rip + i.imm);
  if (!c.mode64() && target > c.seg[kCs].limit) return c.raise(kGp, 0);
  if (!c.push<kFast>(c.next_rip, i.opsize)) return Flow::kFault;
  c.next_rip = target;
  return Flow::kEnd;
}

template <K S>
Flow jmp_indirect(Cpu& c, const Insn& i) {
  uint64_t t;
  if (!read_src<S>(c, i, i.opsize, &t)) return Flow::kFault;
  return jump(c, i, t);
}

template <K S>
Flow call_indirect(Cpu& c, const Insn& i) {
  uint64_t t;
  if (!read_src<S>(c, i, i.opsize, &t)) return Flow::kFault;
  t = near_target(c, i, t);
  if (!c.mode64() && t > c.seg[kCs].limit) return c.raise(kGp, 0);
  if (!c.push(c.next_rip, i.opsize)) return Flow::kFault;
  c.next_rip = t;
  return Flow::kEnd;
}

template <bool kFast>
[[gnu::always_inline]] inline Flow ret_n(Cpu& c, const Insn& i, uint64_t extra) {
  uint64_t saved = c.gpr[kRsp];
  uint64_t t;
  if (!c.pop<kFast>(i.opsize, &t)) return Flow::kFault;
  t = near_target(c, i, t);
  if (!c.mode64() && t > c.seg[kCs].limit) {
    c.gpr[kRsp] = saved;
    return c.raise(kGp, 0);
  }
  uint64_t m = c.sp_mask();
  c.gpr[kRsp] = (c.gpr[kRsp] & ~m) | ((c.gpr[kRsp] + extra) & m);
  c.next_rip = t;
  return Flow::kEnd;
}

template <bool kFast>
Flow ret(Cpu& c, const Insn& i) {
  return ret_n<kFast>(c, i, 0);
}
template <bool kFast>
Flow ret_imm(Cpu& c, const Insn& i) {
  return ret_n<kFast>(c, i, i.imm & 0xFFFF);
}

Flow retf(Cpu& c, const Insn& i) {
  return c.far_return(i.opsize, 0) ? Flow::kEnd : Flow::kFault;
}
Flow retf_imm(Cpu& c, const Insn& i) {
  return c.far_return(i.opsize, static_cast<uint16_t>(i.imm)) ? Flow::kEnd : Flow::kFault;
}

// LOOP/LOOPE/LOOPNE (zf_rule 0: none, 1: while ZF, 2: while !ZF) and JCXZ.
template <int kZfRule>
Flow loop(Cpu& c, const Insn& i) {
  uint64_t count = (c.gpr[kRcx] - 1) & size_mask(i.addrsize);
  c.set_reg(kRcx, i.addrsize, count);
  bool go = count != 0;
  if (kZfRule == 1) go = go && c.lflags.zf();
  if (kZfRule == 2) go = go && !c.lflags.zf();
  if (!go) return Flow::kNext;
  return jump(c, i, c.next_rip + i.imm);
}

Flow jcxz(Cpu& c, const Insn& i) {
  if ((c.gpr[kRcx] & size_mask(i.addrsize)) != 0) return Flow::kNext;
  return jump(c, i, c.next_rip + i.imm);
}

Flow soft_interrupt(Cpu& c, uint8_t vector, bool soft) {
  if (soft && (c.rflags_system() & rflags::kVm) && c.iopl() < 3) return c.raise(kGp, 0);
  if (!c.deliver(vector, kNoErrorCode, soft, c.next_rip)) return Flow::kFault;
  return Flow::kEnd;
}

Flow int_n(Cpu& c, const Insn& i) {
  return soft_interrupt(c, static_cast<uint8_t>(i.imm), true);
}
Flow int3(Cpu& c, const Insn&) {
  return soft_interrupt(c, kBp, true);
}
Flow int1(Cpu& c, const Insn&) {
  return soft_interrupt(c, kDb, false);
}
Flow into(Cpu& c, const Insn&) {
  if (!c.lflags.of()) return Flow::kNext;
  return soft_interrupt(c, kOf, true);
}

Flow iret(Cpu& c, const Insn& i) {
  if (!c.iret(i.opsize)) return Flow::kFault;
  c.nmi_masked = false;
  return Flow::kEnd;
}

Flow hlt(Cpu& c, const Insn&) {
  if (c.cpl() != 0) return c.raise(kGp, 0);
  return Flow::kHalt;
}

Flow jmp_far(Cpu& c, const Insn& i) {
  return c.far_transfer(i.imm2, i.imm, false, i.opsize) ? Flow::kEnd : Flow::kFault;
}
Flow call_far(Cpu& c, const Insn& i) {
  return c.far_transfer(i.imm2, i.imm, true, i.opsize) ? Flow::kEnd : Flow::kFault;
}

template <bool kCall>
Flow far_indirect(Cpu& c, const Insn& i) {
  uint64_t ea = c.effective_address(i);
  uint64_t offset, selector;
  if (!c.read(i.seg, ea, i.opsize, &offset) ||
      !c.read(i.seg, (ea + i.opsize) & size_mask(i.addrsize), 2, &selector))
    return Flow::kFault;
  return c.far_transfer(static_cast<uint16_t>(selector), offset, kCall, i.opsize) ? Flow::kEnd
                                                                                  : Flow::kFault;
}

}  // namespace

const Handler kJmpRel = chained<jmp_rel>, kCallRel = chained_fast<call_rel<true>, call_rel<false>>,
              kRet = chained_fast<ret<true>, ret<false>>,
              kRetImm = chained_fast<ret_imm<true>, ret_imm<false>>, kRetf = retf,
              kRetfImm = retf_imm, kLoop = chained<loop<0>>, kLoope = chained<loop<1>>,
              kLoopne = chained<loop<2>>, kJcxz = chained<jcxz>, kInt = int_n, kInt3 = int3,
              kInto = into, kInt1 = int1, kIret = iret, kHlt = hlt, kJmpFar = jmp_far,
              kCallFar = call_far;

Handler ctl_jcc(unsigned cc) {
  static constexpr Handler kTable[16] = {
      chained<jcc<0>>,  chained<jcc<1>>,  chained<jcc<2>>,  chained<jcc<3>>,
      chained<jcc<4>>,  chained<jcc<5>>,  chained<jcc<6>>,  chained<jcc<7>>,
      chained<jcc<8>>,  chained<jcc<9>>,  chained<jcc<10>>, chained<jcc<11>>,
      chained<jcc<12>>, chained<jcc<13>>, chained<jcc<14>>, chained<jcc<15>>};
  return kTable[cc & 15];
}

Handler ctl_jmp_indirect(Form f) {
  return f == Form::kR   ? chained<jmp_indirect<K::R>>
         : f == Form::kM ? chained<jmp_indirect<K::M>>
                         : nullptr;
}
Handler ctl_call_indirect(Form f) {
  return f == Form::kR   ? chained<call_indirect<K::R>>
         : f == Form::kM ? chained<call_indirect<K::M>>
                         : nullptr;
}
Handler ctl_jmp_far_indirect() {
  return far_indirect<false>;
}
Handler ctl_call_far_indirect() {
  return far_indirect<true>;
}

}  // namespace vessel::cpu

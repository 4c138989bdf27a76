// Condition codes (0-15, as in the SETcc/CMOVcc opcodes) for Xbyak, which
// has one function per condition.
#pragma once

#include <xbyak/xbyak.h>

namespace vessel::cpu::jit_cc {

inline void setcc(Xbyak::CodeGenerator& g, unsigned cc, const Xbyak::Operand& o) {
  switch (cc & 15) {
    case 0:
      g.seto(o);
      break;
    case 1:
      g.setno(o);
      break;
    case 2:
      g.setb(o);
      break;
    case 3:
      g.setnb(o);
      break;
    case 4:
      g.setz(o);
      break;
    case 5:
      g.setnz(o);
      break;
    case 6:
      g.setbe(o);
      break;
    case 7:
      g.setnbe(o);
      break;
    case 8:
      g.sets(o);
      break;
    case 9:
      g.setns(o);
      break;
    case 10:
      g.setp(o);
      break;
    case 11:
      g.setnp(o);
      break;
    case 12:
      g.setl(o);
      break;
    case 13:
      g.setnl(o);
      break;
    case 14:
      g.setle(o);
      break;
    default:
      g.setnle(o);
      break;
  }
}
inline void cmovcc(Xbyak::CodeGenerator& g, unsigned cc, const Xbyak::Reg& r,
                   const Xbyak::Operand& o) {
  switch (cc & 15) {
    case 0:
      g.cmovo(r, o);
      break;
    case 1:
      g.cmovno(r, o);
      break;
    case 2:
      g.cmovb(r, o);
      break;
    case 3:
      g.cmovnb(r, o);
      break;
    case 4:
      g.cmovz(r, o);
      break;
    case 5:
      g.cmovnz(r, o);
      break;
    case 6:
      g.cmovbe(r, o);
      break;
    case 7:
      g.cmovnbe(r, o);
      break;
    case 8:
      g.cmovs(r, o);
      break;
    case 9:
      g.cmovns(r, o);
      break;
    case 10:
      g.cmovp(r, o);
      break;
    case 11:
      g.cmovnp(r, o);
      break;
    case 12:
      g.cmovl(r, o);
      break;
    case 13:
      g.cmovnl(r, o);
      break;
    case 14:
      g.cmovle(r, o);
      break;
    default:
      g.cmovnle(r, o);
      break;
  }
}

}  // namespace vessel::cpu::jit_cc

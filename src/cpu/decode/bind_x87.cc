#include "cpu/decode/bind_x87.h"

#include "cpu/exec/handlers.h"
#include "cpu/exec/x87_handlers.h"

namespace vessel::cpu {
namespace {

Handler with(Insn* out, Handler h, unsigned op, unsigned size2 = 0) {
  out->op = static_cast<uint8_t>(op);
  out->size2 = static_cast<uint8_t>(size2);
  return h;
}

Handler arith_mem(Insn* out, unsigned reg, X87Mem m) {
  return with(out, kX87ArithMem, reg, static_cast<unsigned>(m));
}
Handler load(Insn* out, X87Mem m) {
  return with(out, kX87LoadMem, 0, static_cast<unsigned>(m));
}
Handler store(Insn* out, X87Store op, X87Mem m) {
  return with(out, kX87StoreMem, static_cast<unsigned>(op), static_cast<unsigned>(m));
}
Handler special(Insn* out, X87Special op) {
  return with(out, kX87Special, static_cast<unsigned>(op));
}

// Memory forms (ModRM.mod != 3), by escape byte (0-7 for D8-DF) and ModRM.reg.
Handler bind_memory(unsigned esc, unsigned reg, Insn* out) {
  switch (esc) {
    case 0:
      return arith_mem(out, reg, X87Mem::kF32);
    case 2:
      return arith_mem(out, reg, X87Mem::kI32);
    case 4:
      return arith_mem(out, reg, X87Mem::kF64);
    case 6:
      return arith_mem(out, reg, X87Mem::kI16);
    case 1:
      switch (reg) {
        case 0:
          return load(out, X87Mem::kF32);
        case 2:
          return store(out, X87Store::kSt, X87Mem::kF32);
        case 3:
          return store(out, X87Store::kStp, X87Mem::kF32);
        case 4:
          return kX87Fldenv;
        case 5:
          return kX87Fldcw;
        case 6:
          return kX87Fnstenv;
        case 7:
          return kX87Fnstcw;
        default:
          return kRaiseUd;
      }
    case 3:
      switch (reg) {
        case 0:
          return load(out, X87Mem::kI32);
        case 1:
          return store(out, X87Store::kIsttp, X87Mem::kI32);
        case 2:
          return store(out, X87Store::kSt, X87Mem::kI32);
        case 3:
          return store(out, X87Store::kStp, X87Mem::kI32);
        case 5:
          return load(out, X87Mem::kF80);
        case 7:
          return store(out, X87Store::kStp, X87Mem::kF80);
        default:
          return kRaiseUd;
      }
    case 5:
      switch (reg) {
        case 0:
          return load(out, X87Mem::kF64);
        case 1:
          return store(out, X87Store::kIsttp, X87Mem::kI64);
        case 2:
          return store(out, X87Store::kSt, X87Mem::kF64);
        case 3:
          return store(out, X87Store::kStp, X87Mem::kF64);
        case 4:
          return kX87Frstor;
        case 6:
          return kX87Fnsave;
        case 7:
          return kX87FnstswMem;
        default:
          return kRaiseUd;
      }
    default:  // 7: DF
      switch (reg) {
        case 0:
          return load(out, X87Mem::kI16);
        case 1:
          return store(out, X87Store::kIsttp, X87Mem::kI16);
        case 2:
          return store(out, X87Store::kSt, X87Mem::kI16);
        case 3:
          return store(out, X87Store::kStp, X87Mem::kI16);
        case 4:
          return load(out, X87Mem::kBcd);
        case 5:
          return load(out, X87Mem::kI64);
        case 6:
          return store(out, X87Store::kStp, X87Mem::kBcd);
        default:
          return store(out, X87Store::kStp, X87Mem::kI64);
      }
  }
}

// D9 F0-F5 (F6, F7 are FDECSTP, FINCSTP) and D9 F8-FF.
constexpr X87Special kD9F0[6] = {X87Special::kF2xm1,  X87Special::kFyl2x,   X87Special::kFptan,
                                 X87Special::kFpatan, X87Special::kFxtract, X87Special::kFprem1};
constexpr X87Special kD9F8[8] = {X87Special::kFprem,   X87Special::kFyl2xp1, X87Special::kFsqrt,
                                 X87Special::kFsincos, X87Special::kFrndint, X87Special::kFscale,
                                 X87Special::kFsin,    X87Special::kFcos};

// Register forms (ModRM.mod == 3); `rm` is the ST(i) index.
Handler bind_register(unsigned esc, unsigned reg, unsigned rm, Insn* out) {
  out->r1 = static_cast<uint8_t>(rm);
  bool compare = reg == 2 || reg == 3;
  switch (esc) {
    case 0:  // D8: ST0 = ST0 op ST(i); FCOM/FCOMP
      if (compare) return with(out, kX87Compare, 0, reg == 3);
      return with(out, kX87ArithSt0, reg);
    case 4:  // DC: ST(i) = ST(i) op ST0 (SUB/SUBR and DIV/DIVR swap)
    case 6:  // DE: the same, then pop; DE D9 is FCOMPP
      if (esc == 6 && reg == 3) {
        if (rm != 1) return kRaiseUd;
        return with(out, kX87Compare, 0, 2);
      }
      if (compare) return with(out, kX87Compare, 0, esc == 6 || reg == 3);  // FCOM2/FCOMP3/5
      return with(out, kX87ArithSti, reg >= 4 ? reg ^ 1 : reg, esc == 6);
    case 1:  // D9
      switch (reg) {
        case 0:
          return kX87LoadSt;
        case 1:
          return kX87Fxch;
        case 2:
          return rm == 0 ? kX87Fnop : kRaiseUd;
        case 3:
          return with(out, kX87StoreSt, 0, 1);  // FSTP1 alias
        case 4:
          switch (rm) {
            case 0:
              return special(out, X87Special::kChs);
            case 1:
              return special(out, X87Special::kAbs);
            case 4:
              return special(out, X87Special::kTst);
            case 5:
              return special(out, X87Special::kXam);
            default:
              return kRaiseUd;
          }
        case 5:
          if (rm == 7) return kRaiseUd;
          return with(out, kX87LoadConst, rm);
        case 6:
          if (rm == 6) return kX87Fdecstp;
          if (rm == 7) return kX87Fincstp;
          return special(out, kD9F0[rm]);
        default:
          return special(out, kD9F8[rm]);
      }
    case 2:  // DA: FCMOVB/E/BE/U, FUCOMPP
      if (reg < 4) return with(out, kX87Fcmov, reg);
      if (reg == 5 && rm == 1) return with(out, kX87Compare, x87_cmp::kUnordered, 2);
      return kRaiseUd;
    case 3:  // DB: FCMOVNB/NE/NBE/NU, FNCLEX, FNINIT, FUCOMI, FCOMI
      if (reg < 4) return with(out, kX87Fcmov, reg + 4);
      if (reg == 4) {
        if (rm == 2) return kX87Fnclex;
        if (rm == 3) return kX87Fninit;
        if (rm == 0 || rm == 1 || rm == 4) return kX87NoWaitNop;  // FENI, FDISI, FSETPM
        return kRaiseUd;
      }
      if (reg == 5) return with(out, kX87Compare, x87_cmp::kUnordered | x87_cmp::kEflags, 0);
      if (reg == 6) return with(out, kX87Compare, x87_cmp::kEflags, 0);
      return kRaiseUd;
    case 5:  // DD: FFREE, FST, FSTP, FUCOM, FUCOMP
      switch (reg) {
        case 0:
          return with(out, kX87Ffree, 0, 0);
        case 1:
          return kX87Fxch;  // FXCH4 alias
        case 2:
          return with(out, kX87StoreSt, 0, 0);
        case 3:
          return with(out, kX87StoreSt, 0, 1);
        case 4:
          return with(out, kX87Compare, x87_cmp::kUnordered, 0);
        case 5:
          return with(out, kX87Compare, x87_cmp::kUnordered, 1);
        default:
          return kRaiseUd;
      }
    default:  // DF: FFREEP, FNSTSW AX, FUCOMIP, FCOMIP
      switch (reg) {
        case 0:
          return with(out, kX87Ffree, 0, 1);
        case 1:
          return kX87Fxch;  // FXCH7 alias
        case 2:
        case 3:
          return with(out, kX87StoreSt, 0, 1);  // FSTP8/FSTP9 aliases
        case 4:
          return rm == 0 ? kX87FnstswAx : kRaiseUd;
        case 5:
          return with(out, kX87Compare, x87_cmp::kUnordered | x87_cmp::kEflags, 1);
        case 6:
          return with(out, kX87Compare, x87_cmp::kEflags, 1);
        default:
          return kRaiseUd;
      }
  }
}

}  // namespace

Handler bind_x87(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand*, Insn* out) {
  switch (zi.mnemonic) {
    case ZYDIS_MNEMONIC_FWAIT:
      return kX87Fwait;
    case ZYDIS_MNEMONIC_FXSAVE:
    case ZYDIS_MNEMONIC_FXSAVE64:
      return with(out, kFxsave, zi.mnemonic == ZYDIS_MNEMONIC_FXSAVE64);
    case ZYDIS_MNEMONIC_FXRSTOR:
    case ZYDIS_MNEMONIC_FXRSTOR64:
      return with(out, kFxrstor, zi.mnemonic == ZYDIS_MNEMONIC_FXRSTOR64);
    case ZYDIS_MNEMONIC_XSAVE:
    case ZYDIS_MNEMONIC_XSAVEOPT:
      return with(out, kXsave, 0);
    case ZYDIS_MNEMONIC_XSAVE64:
    case ZYDIS_MNEMONIC_XSAVEOPT64:
      return with(out, kXsave, 1);
    case ZYDIS_MNEMONIC_XRSTOR:
    case ZYDIS_MNEMONIC_XRSTOR64:
      return with(out, kXrstor, zi.mnemonic == ZYDIS_MNEMONIC_XRSTOR64);
    case ZYDIS_MNEMONIC_XGETBV:
      return kXgetbv;
    case ZYDIS_MNEMONIC_XSETBV:
      return kXsetbv;
    case ZYDIS_MNEMONIC_LDMXCSR:
      return kLdmxcsr;
    case ZYDIS_MNEMONIC_STMXCSR:
      return kStmxcsr;
    default:
      break;
  }
  if (zi.opcode_map != ZYDIS_OPCODE_MAP_DEFAULT || zi.opcode < 0xD8 || zi.opcode > 0xDF)
    return nullptr;
  unsigned esc = zi.opcode - 0xD8;
  unsigned mod = zi.raw.modrm.mod, reg = zi.raw.modrm.reg, rm = zi.raw.modrm.rm;
  out->imm2 = static_cast<uint16_t>((esc << 8) | (mod << 6) | (reg << 3) | rm);
  // The FNSTENV/FNSAVE layout follows the operand size (16 or 32 bits; 64-bit
  // mode uses the 32-bit layout unless 66h selects 16 bits).
  bool sixteen = zi.machine_mode == ZYDIS_MACHINE_MODE_LONG_COMPAT_16 ||
                 zi.machine_mode == ZYDIS_MACHINE_MODE_LEGACY_16 ||
                 zi.machine_mode == ZYDIS_MACHINE_MODE_REAL_16;
  if (zi.attributes & ZYDIS_ATTRIB_HAS_OPERANDSIZE) sixteen = !sixteen;
  out->opsize = sixteen ? 2 : 4;
  if (mod != 3) return bind_memory(esc, reg, out);
  return bind_register(esc, reg, rm, out);
}

}  // namespace vessel::cpu

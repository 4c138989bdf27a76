#include "cpu/decode/zydis_bind.h"

#include <string_view>

#include "cpu/decode/bind_intops.h"
#include "cpu/decode/bind_sse.h"
#include "cpu/decode/bind_sse41.h"
#include "cpu/decode/bind_sse42.h"
#include "cpu/decode/bind_ssse3.h"
#include "cpu/decode/bind_x87.h"
#include "cpu/exec/handlers.h"
#include "cpu/registers.h"

namespace vessel::cpu {
namespace {

uint8_t reg_id(ZydisRegister r) {
  if (r >= ZYDIS_REGISTER_AL && r <= ZYDIS_REGISTER_R15B) {
    int i = r - ZYDIS_REGISTER_AL;
    if (i < 4) return static_cast<uint8_t>(i);
    if (i < 8) return static_cast<uint8_t>(kHighByte + i - 4);
    return static_cast<uint8_t>(i - 4);
  }
  if (r >= ZYDIS_REGISTER_AX && r <= ZYDIS_REGISTER_R15)
    return static_cast<uint8_t>(ZydisRegisterGetId(r));
  if (r >= ZYDIS_REGISTER_ES && r <= ZYDIS_REGISTER_GS)
    return static_cast<uint8_t>(r - ZYDIS_REGISTER_ES);
  if (r >= ZYDIS_REGISTER_CR0 && r <= ZYDIS_REGISTER_CR15)
    return static_cast<uint8_t>(r - ZYDIS_REGISTER_CR0);
  if (r >= ZYDIS_REGISTER_DR0 && r <= ZYDIS_REGISTER_DR15)
    return static_cast<uint8_t>(r - ZYDIS_REGISTER_DR0);
  if (r == ZYDIS_REGISTER_RIP || r == ZYDIS_REGISTER_EIP || r == ZYDIS_REGISTER_IP) return kRipBase;
  return kNoReg;
}

uint8_t seg_id(ZydisRegister r) {
  if (r >= ZYDIS_REGISTER_ES && r <= ZYDIS_REGISTER_GS)
    return static_cast<uint8_t>(r - ZYDIS_REGISTER_ES);
  return kDs;
}

// Condition code (Jcc/SETcc/CMOVcc encoding order) from the mnemonic.
int condition_of(ZydisMnemonic m) {
  switch (m) {
    case ZYDIS_MNEMONIC_JO:
    case ZYDIS_MNEMONIC_SETO:
    case ZYDIS_MNEMONIC_CMOVO:
      return 0;
    case ZYDIS_MNEMONIC_JNO:
    case ZYDIS_MNEMONIC_SETNO:
    case ZYDIS_MNEMONIC_CMOVNO:
      return 1;
    case ZYDIS_MNEMONIC_JB:
    case ZYDIS_MNEMONIC_SETB:
    case ZYDIS_MNEMONIC_CMOVB:
      return 2;
    case ZYDIS_MNEMONIC_JNB:
    case ZYDIS_MNEMONIC_SETNB:
    case ZYDIS_MNEMONIC_CMOVNB:
      return 3;
    case ZYDIS_MNEMONIC_JZ:
    case ZYDIS_MNEMONIC_SETZ:
    case ZYDIS_MNEMONIC_CMOVZ:
      return 4;
    case ZYDIS_MNEMONIC_JNZ:
    case ZYDIS_MNEMONIC_SETNZ:
    case ZYDIS_MNEMONIC_CMOVNZ:
      return 5;
    case ZYDIS_MNEMONIC_JBE:
    case ZYDIS_MNEMONIC_SETBE:
    case ZYDIS_MNEMONIC_CMOVBE:
      return 6;
    case ZYDIS_MNEMONIC_JNBE:
    case ZYDIS_MNEMONIC_SETNBE:
    case ZYDIS_MNEMONIC_CMOVNBE:
      return 7;
    case ZYDIS_MNEMONIC_JS:
    case ZYDIS_MNEMONIC_SETS:
    case ZYDIS_MNEMONIC_CMOVS:
      return 8;
    case ZYDIS_MNEMONIC_JNS:
    case ZYDIS_MNEMONIC_SETNS:
    case ZYDIS_MNEMONIC_CMOVNS:
      return 9;
    case ZYDIS_MNEMONIC_JP:
    case ZYDIS_MNEMONIC_SETP:
    case ZYDIS_MNEMONIC_CMOVP:
      return 10;
    case ZYDIS_MNEMONIC_JNP:
    case ZYDIS_MNEMONIC_SETNP:
    case ZYDIS_MNEMONIC_CMOVNP:
      return 11;
    case ZYDIS_MNEMONIC_JL:
    case ZYDIS_MNEMONIC_SETL:
    case ZYDIS_MNEMONIC_CMOVL:
      return 12;
    case ZYDIS_MNEMONIC_JNL:
    case ZYDIS_MNEMONIC_SETNL:
    case ZYDIS_MNEMONIC_CMOVNL:
      return 13;
    case ZYDIS_MNEMONIC_JLE:
    case ZYDIS_MNEMONIC_SETLE:
    case ZYDIS_MNEMONIC_CMOVLE:
      return 14;
    case ZYDIS_MNEMONIC_JNLE:
    case ZYDIS_MNEMONIC_SETNLE:
    case ZYDIS_MNEMONIC_CMOVNLE:
      return 15;
    default:
      return -1;
  }
}

// Fills the operand fields; returns the operand form.
Form fill_operands(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Insn* out) {
  char kinds[4] = {};
  unsigned nk = 0, nregs = 0, nimms = 0;
  bool unsupported = false;
  for (unsigned k = 0; k < zi.operand_count_visible && nk < 3; ++k) {
    const ZydisDecodedOperand& op = ops[k];
    switch (op.type) {
      case ZYDIS_OPERAND_TYPE_REGISTER: {
        uint8_t id = reg_id(op.reg.value);
        if (id == kNoReg || id == kRipBase) unsupported = true;
        if (nregs == 0)
          out->r0 = id;
        else if (nregs == 1)
          out->r1 = id;
        ++nregs;
        kinds[nk++] = 'R';
        break;
      }
      case ZYDIS_OPERAND_TYPE_MEMORY:
        out->base = reg_id(op.mem.base);
        out->index = reg_id(op.mem.index);
        out->scale = op.mem.scale ? op.mem.scale : 1;
        out->disp = op.mem.disp.value;
        out->seg = seg_id(op.mem.segment);
        kinds[nk++] = 'M';
        break;
      case ZYDIS_OPERAND_TYPE_POINTER:
        out->imm = op.ptr.offset;
        out->imm2 = op.ptr.segment;
        kinds[nk++] = 'I';
        break;
      case ZYDIS_OPERAND_TYPE_IMMEDIATE: {
        uint64_t v = op.imm.is_signed ? static_cast<uint64_t>(op.imm.value.s) : op.imm.value.u;
        if (nimms == 0)
          out->imm = v;
        else
          out->imm2 = static_cast<uint16_t>(v);
        ++nimms;
        kinds[nk++] = 'I';
        break;
      }
      default:
        break;
    }
  }
  if (unsupported) return Form::kUnsupported;
  // Single-operand instructions read their operand as a source too.
  if (nregs == 1) out->r1 = out->r0;
  std::string_view k(kinds, nk);
  if (k == "") return Form::kNone;
  if (k == "R") return Form::kR;
  if (k == "M") return Form::kM;
  if (k == "I") return Form::kI;
  if (k == "RR") return Form::kRR;
  if (k == "RM") return Form::kRM;
  if (k == "MR") return Form::kMR;
  if (k == "RI") return Form::kRI;
  if (k == "MI") return Form::kMI;
  if (k == "RRI") return Form::kRRI;
  if (k == "RMI") return Form::kRMI;
  if (k == "MRI") return Form::kMRI;
  if (k == "MRR") return Form::kMRR;
  if (k == "RRR") return Form::kRRR;
  if (k == "II") return Form::kI;  // ENTER: size and level
  return Form::kNone;
}

// The LOCK'ed forms (exec/locked.cc); LOCK on anything else is #UD.
Handler bind_locked(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Form f,
                    const Insn* out) {
  Handler h = nullptr;
  switch (zi.mnemonic) {
    case ZYDIS_MNEMONIC_ADD:
      h = lock_alu_binary(AluOp::kAdd, f, out->opsize);
      break;
    case ZYDIS_MNEMONIC_OR:
      h = lock_alu_binary(AluOp::kOr, f, out->opsize);
      break;
    case ZYDIS_MNEMONIC_ADC:
      h = lock_alu_binary(AluOp::kAdc, f, out->opsize);
      break;
    case ZYDIS_MNEMONIC_SBB:
      h = lock_alu_binary(AluOp::kSbb, f, out->opsize);
      break;
    case ZYDIS_MNEMONIC_AND:
      h = lock_alu_binary(AluOp::kAnd, f, out->opsize);
      break;
    case ZYDIS_MNEMONIC_SUB:
      h = lock_alu_binary(AluOp::kSub, f, out->opsize);
      break;
    case ZYDIS_MNEMONIC_XOR:
      h = lock_alu_binary(AluOp::kXor, f, out->opsize);
      break;
    case ZYDIS_MNEMONIC_INC:
      h = lock_alu_unary(UnaryOp::kInc, f, out->opsize);
      break;
    case ZYDIS_MNEMONIC_DEC:
      h = lock_alu_unary(UnaryOp::kDec, f, out->opsize);
      break;
    case ZYDIS_MNEMONIC_NEG:
      h = lock_alu_unary(UnaryOp::kNeg, f, out->opsize);
      break;
    case ZYDIS_MNEMONIC_NOT:
      h = lock_alu_unary(UnaryOp::kNot, f, out->opsize);
      break;
    case ZYDIS_MNEMONIC_BTS:
      h = lock_bit(BitOp::kBts, f);
      break;
    case ZYDIS_MNEMONIC_BTR:
      h = lock_bit(BitOp::kBtr, f);
      break;
    case ZYDIS_MNEMONIC_BTC:
      h = lock_bit(BitOp::kBtc, f);
      break;
    case ZYDIS_MNEMONIC_XADD:
      h = lock_xadd(f);
      break;
    case ZYDIS_MNEMONIC_CMPXCHG:
      h = lock_cmpxchg(f);
      break;
    case ZYDIS_MNEMONIC_XCHG:
      h = lock_xchg(f);
      break;
    case ZYDIS_MNEMONIC_CMPXCHG8B:
      if (ops[0].type == ZYDIS_OPERAND_TYPE_MEMORY) h = kLockCmpxchg8b;
      break;
    case ZYDIS_MNEMONIC_CMPXCHG16B:
      if (ops[0].type == ZYDIS_OPERAND_TYPE_MEMORY) h = kLockCmpxchg16b;
      break;
    default:
      break;
  }
  return h ? h : kRaiseUd;
}

Handler bind_handler(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Form f,
                     Insn* out) {
  if (out->flags & insn_flag::kLock) return bind_locked(zi, ops, f, out);
  if (Handler h = bind_intops(zi, ops, out)) return h;
  if (Handler h = bind_sse(zi, ops, out)) return h;
  if (Handler h = bind_ssse3(zi, ops, out)) return h;
  if (Handler h = bind_sse41(zi, ops, out)) return h;
  if (Handler h = bind_sse42(zi, ops, out)) return h;
  if (Handler h = bind_x87(zi, ops, out)) return h;
  if (f == Form::kUnsupported) return nullptr;
  switch (zi.mnemonic) {
    // ALU
    case ZYDIS_MNEMONIC_ADD:
      return alu_binary(AluOp::kAdd, f, out->opsize);
    case ZYDIS_MNEMONIC_OR:
      return alu_binary(AluOp::kOr, f, out->opsize);
    case ZYDIS_MNEMONIC_ADC:
      return alu_binary(AluOp::kAdc, f, out->opsize);
    case ZYDIS_MNEMONIC_SBB:
      return alu_binary(AluOp::kSbb, f, out->opsize);
    case ZYDIS_MNEMONIC_AND:
      return alu_binary(AluOp::kAnd, f, out->opsize);
    case ZYDIS_MNEMONIC_SUB:
      return alu_binary(AluOp::kSub, f, out->opsize);
    case ZYDIS_MNEMONIC_XOR:
      return alu_binary(AluOp::kXor, f, out->opsize);
    case ZYDIS_MNEMONIC_CMP:
      return alu_binary(AluOp::kCmp, f, out->opsize);
    case ZYDIS_MNEMONIC_TEST:
      return alu_binary(AluOp::kTest, f, out->opsize);
    case ZYDIS_MNEMONIC_INC:
      return alu_unary(UnaryOp::kInc, f, out->opsize);
    case ZYDIS_MNEMONIC_DEC:
      return alu_unary(UnaryOp::kDec, f, out->opsize);
    case ZYDIS_MNEMONIC_NEG:
      return alu_unary(UnaryOp::kNeg, f, out->opsize);
    case ZYDIS_MNEMONIC_NOT:
      return alu_unary(UnaryOp::kNot, f, out->opsize);
    case ZYDIS_MNEMONIC_ROL:
      return alu_shift(ShiftOp::kRol, f, out->opsize);
    case ZYDIS_MNEMONIC_ROR:
      return alu_shift(ShiftOp::kRor, f, out->opsize);
    case ZYDIS_MNEMONIC_RCL:
      return alu_shift(ShiftOp::kRcl, f, out->opsize);
    case ZYDIS_MNEMONIC_RCR:
      return alu_shift(ShiftOp::kRcr, f, out->opsize);
    case ZYDIS_MNEMONIC_SHL:
      return alu_shift(ShiftOp::kShl, f, out->opsize);
    case ZYDIS_MNEMONIC_SHR:
      return alu_shift(ShiftOp::kShr, f, out->opsize);
    case ZYDIS_MNEMONIC_SAR:
      return alu_shift(ShiftOp::kSar, f, out->opsize);
    case ZYDIS_MNEMONIC_SHLD:
      return alu_double_shift(true, f);
    case ZYDIS_MNEMONIC_SHRD:
      return alu_double_shift(false, f);
    case ZYDIS_MNEMONIC_MUL:
      return alu_mul(f);
    case ZYDIS_MNEMONIC_IMUL:
      return (f == Form::kR || f == Form::kM) ? alu_imul1(f) : alu_imul(f, out->opsize);
    case ZYDIS_MNEMONIC_DIV:
      return alu_div(false, f);
    case ZYDIS_MNEMONIC_IDIV:
      return alu_div(true, f);
    case ZYDIS_MNEMONIC_BT:
      return alu_bit(BitOp::kBt, f);
    case ZYDIS_MNEMONIC_BTS:
      return alu_bit(BitOp::kBts, f);
    case ZYDIS_MNEMONIC_BTR:
      return alu_bit(BitOp::kBtr, f);
    case ZYDIS_MNEMONIC_BTC:
      return alu_bit(BitOp::kBtc, f);
    case ZYDIS_MNEMONIC_BSF:
      return alu_bsf(false, f);
    case ZYDIS_MNEMONIC_BSR:
      return alu_bsf(true, f);
    case ZYDIS_MNEMONIC_XADD:
      return alu_xadd(f);
    case ZYDIS_MNEMONIC_CMPXCHG:
      return alu_cmpxchg(f);
    case ZYDIS_MNEMONIC_BSWAP:
      return kBswap;
    case ZYDIS_MNEMONIC_CBW:
    case ZYDIS_MNEMONIC_CWDE:
    case ZYDIS_MNEMONIC_CDQE:
      return kCbw;
    case ZYDIS_MNEMONIC_CWD:
    case ZYDIS_MNEMONIC_CDQ:
    case ZYDIS_MNEMONIC_CQO:
      return kCwd;
    case ZYDIS_MNEMONIC_LAHF:
      return kLahf;
    case ZYDIS_MNEMONIC_SAHF:
      return kSahf;
    case ZYDIS_MNEMONIC_CLC:
      return kClc;
    case ZYDIS_MNEMONIC_STC:
      return kStc;
    case ZYDIS_MNEMONIC_CMC:
      return kCmc;
    case ZYDIS_MNEMONIC_CLD:
      return kCld;
    case ZYDIS_MNEMONIC_STD:
      return kStd;
    // Data movement
    case ZYDIS_MNEMONIC_MOV:
      if (ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER && out->r0 < 6 &&
          ops[0].reg.value >= ZYDIS_REGISTER_ES && ops[0].reg.value <= ZYDIS_REGISTER_GS) {
        if (out->r0 == kCs) return kRaiseUd;
        return data_mov_to_sreg(f);
      }
      if (ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER && ops[1].reg.value >= ZYDIS_REGISTER_ES &&
          ops[1].reg.value <= ZYDIS_REGISTER_GS) {
        if (f == Form::kMR) out->r1 = reg_id(ops[1].reg.value);
        return data_mov_from_sreg(f);
      }
      if (ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER && ops[0].reg.value >= ZYDIS_REGISTER_CR0 &&
          ops[0].reg.value <= ZYDIS_REGISTER_CR15)
        return kMovToCr;
      if (ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER && ops[1].reg.value >= ZYDIS_REGISTER_CR0 &&
          ops[1].reg.value <= ZYDIS_REGISTER_CR15)
        return kMovFromCr;
      if (ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER && ops[0].reg.value >= ZYDIS_REGISTER_DR0 &&
          ops[0].reg.value <= ZYDIS_REGISTER_DR15)
        return kMovToDr;
      if (ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER && ops[1].reg.value >= ZYDIS_REGISTER_DR0 &&
          ops[1].reg.value <= ZYDIS_REGISTER_DR15)
        return kMovFromDr;
      return data_mov(f, out->opsize);
    case ZYDIS_MNEMONIC_MOVZX:
      out->size2 = static_cast<uint8_t>(ops[1].size / 8);
      return data_movx(false, f, out->opsize, out->size2);
    case ZYDIS_MNEMONIC_MOVSX:
    case ZYDIS_MNEMONIC_MOVSXD:
      out->size2 = static_cast<uint8_t>(ops[1].size / 8);
      return data_movx(true, f, out->opsize, out->size2);
    case ZYDIS_MNEMONIC_LEA:
      return data_lea(out->opsize);
    case ZYDIS_MNEMONIC_XCHG:
      return data_xchg(f);
    case ZYDIS_MNEMONIC_PUSH:
      if (f == Form::kR && ops[0].reg.value >= ZYDIS_REGISTER_ES &&
          ops[0].reg.value <= ZYDIS_REGISTER_GS)
        return kPushSreg;
      return data_push(f, out->opsize);
    case ZYDIS_MNEMONIC_POP:
      if (f == Form::kR && ops[0].reg.value >= ZYDIS_REGISTER_ES &&
          ops[0].reg.value <= ZYDIS_REGISTER_GS)
        return kPopSreg;
      return data_pop(f, out->opsize);
    case ZYDIS_MNEMONIC_PUSHF:
    case ZYDIS_MNEMONIC_PUSHFD:
    case ZYDIS_MNEMONIC_PUSHFQ:
      return kPushf;
    case ZYDIS_MNEMONIC_POPF:
    case ZYDIS_MNEMONIC_POPFD:
    case ZYDIS_MNEMONIC_POPFQ:
      return kPopf;
    case ZYDIS_MNEMONIC_PUSHA:
    case ZYDIS_MNEMONIC_PUSHAD:
      return kPusha;
    case ZYDIS_MNEMONIC_POPA:
    case ZYDIS_MNEMONIC_POPAD:
      return kPopa;
    case ZYDIS_MNEMONIC_NOP:
      return kNop;
    case ZYDIS_MNEMONIC_ENTER:
      return kEnter;
    case ZYDIS_MNEMONIC_LEAVE:
      return kLeave;
    case ZYDIS_MNEMONIC_XLAT:
      return kXlat;
    case ZYDIS_MNEMONIC_LDS:
      out->op = kDs;
      return kLoadFarPointer;
    case ZYDIS_MNEMONIC_LES:
      out->op = kEs;
      return kLoadFarPointer;
    case ZYDIS_MNEMONIC_LFS:
      out->op = kFs;
      return kLoadFarPointer;
    case ZYDIS_MNEMONIC_LGS:
      out->op = kGs;
      return kLoadFarPointer;
    case ZYDIS_MNEMONIC_LSS:
      out->op = kSs;
      return kLoadFarPointer;
    // Control flow
    case ZYDIS_MNEMONIC_JMP:
      if (ops[0].type == ZYDIS_OPERAND_TYPE_POINTER) return kJmpFar;
      if (ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) return kJmpRel;
      if (zi.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR) return ctl_jmp_far_indirect();
      return ctl_jmp_indirect(f);
    case ZYDIS_MNEMONIC_CALL:
      if (ops[0].type == ZYDIS_OPERAND_TYPE_POINTER) return kCallFar;
      if (ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) return kCallRel;
      if (zi.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR) return ctl_call_far_indirect();
      return ctl_call_indirect(f);
    case ZYDIS_MNEMONIC_RET:
      if (zi.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR) return f == Form::kI ? kRetfImm : kRetf;
      return f == Form::kI ? kRetImm : kRet;
    case ZYDIS_MNEMONIC_LOOP:
      return kLoop;
    case ZYDIS_MNEMONIC_LOOPE:
      return kLoope;
    case ZYDIS_MNEMONIC_LOOPNE:
      return kLoopne;
    case ZYDIS_MNEMONIC_JCXZ:
    case ZYDIS_MNEMONIC_JECXZ:
    case ZYDIS_MNEMONIC_JRCXZ:
      return kJcxz;
    case ZYDIS_MNEMONIC_INT:
      return kInt;
    case ZYDIS_MNEMONIC_INT3:
      return kInt3;
    case ZYDIS_MNEMONIC_INTO:
      return kInto;
    case ZYDIS_MNEMONIC_INT1:
      return kInt1;
    case ZYDIS_MNEMONIC_IRET:
    case ZYDIS_MNEMONIC_IRETD:
    case ZYDIS_MNEMONIC_IRETQ:
      return kIret;
    case ZYDIS_MNEMONIC_HLT:
      return kHlt;
    // Strings
    case ZYDIS_MNEMONIC_MOVSB:
    case ZYDIS_MNEMONIC_MOVSW:
    case ZYDIS_MNEMONIC_MOVSD:
    case ZYDIS_MNEMONIC_MOVSQ:
      if (zi.meta.category != ZYDIS_CATEGORY_STRINGOP) return nullptr;  // SSE MOVSD
      return string_op(StringOp::kMovs);
    case ZYDIS_MNEMONIC_STOSB:
    case ZYDIS_MNEMONIC_STOSW:
    case ZYDIS_MNEMONIC_STOSD:
    case ZYDIS_MNEMONIC_STOSQ:
      return string_op(StringOp::kStos);
    case ZYDIS_MNEMONIC_LODSB:
    case ZYDIS_MNEMONIC_LODSW:
    case ZYDIS_MNEMONIC_LODSD:
    case ZYDIS_MNEMONIC_LODSQ:
      return string_op(StringOp::kLods);
    case ZYDIS_MNEMONIC_CMPSB:
    case ZYDIS_MNEMONIC_CMPSW:
    case ZYDIS_MNEMONIC_CMPSD:
    case ZYDIS_MNEMONIC_CMPSQ:
      if (zi.meta.category != ZYDIS_CATEGORY_STRINGOP) return nullptr;  // SSE CMPSD
      return string_op(StringOp::kCmps);
    case ZYDIS_MNEMONIC_SCASB:
    case ZYDIS_MNEMONIC_SCASW:
    case ZYDIS_MNEMONIC_SCASD:
    case ZYDIS_MNEMONIC_SCASQ:
      return string_op(StringOp::kScas);
    case ZYDIS_MNEMONIC_INSB:
    case ZYDIS_MNEMONIC_INSW:
    case ZYDIS_MNEMONIC_INSD:
      return string_op(StringOp::kIns);
    case ZYDIS_MNEMONIC_OUTSB:
    case ZYDIS_MNEMONIC_OUTSW:
    case ZYDIS_MNEMONIC_OUTSD:
      return string_op(StringOp::kOuts);
    // System
    case ZYDIS_MNEMONIC_CLI:
      return kCli;
    case ZYDIS_MNEMONIC_STI:
      return kSti;
    case ZYDIS_MNEMONIC_IN:
      out->opsize = static_cast<uint8_t>(ops[0].size / 8);
      return ops[1].type == ZYDIS_OPERAND_TYPE_IMMEDIATE ? kInImm : kInDx;
    case ZYDIS_MNEMONIC_OUT:
      out->opsize = static_cast<uint8_t>(ops[1].size / 8);
      return ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE ? kOutImm : kOutDx;
    case ZYDIS_MNEMONIC_LGDT:
      return kLgdt;
    case ZYDIS_MNEMONIC_LIDT:
      return kLidt;
    case ZYDIS_MNEMONIC_SGDT:
      return kSgdt;
    case ZYDIS_MNEMONIC_SIDT:
      return kSidt;
    case ZYDIS_MNEMONIC_LLDT:
      return sys_lldt(f);
    case ZYDIS_MNEMONIC_LTR:
      return sys_ltr(f);
    case ZYDIS_MNEMONIC_SLDT:
      return sys_sldt_str(false, f);
    case ZYDIS_MNEMONIC_STR:
      return sys_sldt_str(true, f);
    case ZYDIS_MNEMONIC_LMSW:
      return sys_lmsw(f);
    case ZYDIS_MNEMONIC_SMSW:
      return sys_smsw(f);
    case ZYDIS_MNEMONIC_VERR:
      return sys_verify(false, f);
    case ZYDIS_MNEMONIC_VERW:
      return sys_verify(true, f);
    case ZYDIS_MNEMONIC_LAR:
      return sys_lar_lsl(false, f);
    case ZYDIS_MNEMONIC_LSL:
      return sys_lar_lsl(true, f);
    case ZYDIS_MNEMONIC_CLTS:
      return kClts;
    case ZYDIS_MNEMONIC_RDMSR:
      return kRdmsr;
    case ZYDIS_MNEMONIC_WRMSR:
      return kWrmsr;
    case ZYDIS_MNEMONIC_CPUID:
      return kCpuid;
    case ZYDIS_MNEMONIC_RDTSC:
      return kRdtsc;
    case ZYDIS_MNEMONIC_RDTSCP:
      return kRdtscp;
    case ZYDIS_MNEMONIC_SWAPGS:
      return kSwapgs;
    case ZYDIS_MNEMONIC_SYSCALL:
      return kSyscall;
    case ZYDIS_MNEMONIC_SYSRET:
      return kSysret;
    case ZYDIS_MNEMONIC_INVLPG:
      return kInvlpg;
    case ZYDIS_MNEMONIC_WBINVD:
    case ZYDIS_MNEMONIC_INVD:
    case ZYDIS_MNEMONIC_CLFLUSH:
    case ZYDIS_MNEMONIC_LFENCE:
    case ZYDIS_MNEMONIC_SFENCE:
    case ZYDIS_MNEMONIC_MFENCE:
    case ZYDIS_MNEMONIC_PAUSE:
    case ZYDIS_MNEMONIC_PREFETCHNTA:
    case ZYDIS_MNEMONIC_PREFETCHT0:
    case ZYDIS_MNEMONIC_PREFETCHT1:
    case ZYDIS_MNEMONIC_PREFETCHT2:
    case ZYDIS_MNEMONIC_PREFETCHW:
      return kNopSystem;
    case ZYDIS_MNEMONIC_UD0:
    case ZYDIS_MNEMONIC_UD1:
    case ZYDIS_MNEMONIC_UD2:
      return kRaiseUd;
    default:
      break;
  }
  int cc = condition_of(zi.mnemonic);
  if (cc >= 0) {
    out->op = static_cast<uint8_t>(cc);
    switch (zi.meta.category) {
      case ZYDIS_CATEGORY_COND_BR:
        return ctl_jcc(static_cast<unsigned>(cc));
      case ZYDIS_CATEGORY_SETCC:
        return alu_setcc(f);
      case ZYDIS_CATEGORY_CMOV:
        return alu_cmovcc(f);
      default:
        break;
    }
  }
  return nullptr;
}

bool ends_block(const ZydisDecodedInstruction& zi) {
  // Conditional branches (Jcc, LOOP, JCXZ) do not end a block: taken, they
  // leave it like any branch; not taken, the block goes on.
  switch (zi.meta.category) {
    case ZYDIS_CATEGORY_UNCOND_BR:
    case ZYDIS_CATEGORY_CALL:
    case ZYDIS_CATEGORY_RET:
    case ZYDIS_CATEGORY_INTERRUPT:
    case ZYDIS_CATEGORY_SYSCALL:
    case ZYDIS_CATEGORY_SYSRET:
    case ZYDIS_CATEGORY_SYSTEM:
    case ZYDIS_CATEGORY_IO:
      return true;
    default:
      break;
  }
  switch (zi.mnemonic) {
    case ZYDIS_MNEMONIC_POPF:
    case ZYDIS_MNEMONIC_POPFD:
    case ZYDIS_MNEMONIC_POPFQ:
    case ZYDIS_MNEMONIC_STI:
    case ZYDIS_MNEMONIC_CLI:
    case ZYDIS_MNEMONIC_HLT:
    case ZYDIS_MNEMONIC_WRMSR:
    case ZYDIS_MNEMONIC_LSS:
    case ZYDIS_MNEMONIC_UD0:
    case ZYDIS_MNEMONIC_UD1:
    case ZYDIS_MNEMONIC_UD2:
      return true;
    default:
      return false;
  }
}

}  // namespace

void bind_insn(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Insn* out) {
  out->len = zi.length;
  out->opsize = static_cast<uint8_t>(zi.operand_width / 8);
  if (out->opsize == 0) out->opsize = 1;
  out->addrsize = static_cast<uint8_t>(zi.address_width / 8);
  out->mnemonic = static_cast<uint16_t>(zi.mnemonic);
  out->seg = kDs;
  if (zi.attributes & ZYDIS_ATTRIB_HAS_LOCK) out->flags |= insn_flag::kLock;
  if (zi.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE)) out->flags |= insn_flag::kRep;
  if (zi.attributes & ZYDIS_ATTRIB_HAS_REPNE) out->flags |= insn_flag::kRepne;
  Form f = fill_operands(zi, ops, out);
  if (zi.meta.category == ZYDIS_CATEGORY_STRINGOP ||
      zi.meta.category == ZYDIS_CATEGORY_IOSTRINGOP) {
    // The source operand's segment (DS unless overridden); the destination is always ES.
    out->seg = kDs;
    for (unsigned k = 0; k < zi.operand_count; ++k) {
      const ZydisDecodedOperand& op = ops[k];
      if (op.type == ZYDIS_OPERAND_TYPE_MEMORY && reg_id(op.mem.base) == kRsi)
        out->seg = seg_id(op.mem.segment);
    }
  }
  Handler h = bind_handler(zi, ops, f, out);
  if (!h) h = kUnimplemented;
  out->fn = h;
  if (ends_block(zi) || h == kUnimplemented) out->flags |= insn_flag::kEndsBlock;
}

}  // namespace vessel::cpu

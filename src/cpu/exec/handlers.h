// The handler families the decoder binds records to. Each family returns the
// handler for an operation in an operand form, or nullptr when that form does
// not exist (the decoder then binds #UD).
#pragma once

#include <cstdint>

#include "cpu/decode/insn.h"

namespace vessel::cpu {

// Operand forms: R register, M memory, I immediate; destination first.
// kUnsupported: an operand this CPU has no register file for (x87, MMX, SSE).
enum class Form : uint8_t {
  kNone,
  kR,
  kM,
  kI,
  kRR,
  kRM,
  kMR,
  kRI,
  kMI,
  kRRI,
  kRMI,
  kMRI,
  kMRR,
  kRRR,
  kUnsupported
};

enum class AluOp : uint8_t { kAdd, kOr, kAdc, kSbb, kAnd, kSub, kXor, kCmp, kTest };
enum class UnaryOp : uint8_t { kInc, kDec, kNeg, kNot };
enum class ShiftOp : uint8_t { kRol, kRor, kRcl, kRcr, kShl, kShr, kSal, kSar };
enum class BitOp : uint8_t { kBt, kBts, kBtr, kBtc };

// exec/alu.cc
Handler alu_binary(AluOp op, Form form, unsigned size);
Handler alu_unary(UnaryOp op, Form form, unsigned size);
// `form` names the shifted operand and the count: kRI/kMI count in imm,
// kRR/kMR count in CL.
Handler alu_shift(ShiftOp op, Form form, unsigned size);
Handler alu_double_shift(bool left, Form form);  // SHLD/SHRD: kRRI, kMRI (imm), kRRR, kMRR (CL)
Handler alu_mul(Form form);                      // MUL r/m
Handler alu_imul1(Form form);                    // IMUL r/m (one operand)
Handler alu_imul(Form form, unsigned size);  // IMUL r, r/m (kRR, kRM) and r, r/m, imm (kRRI, kRMI)
Handler alu_div(bool signed_div, Form form);
Handler alu_bit(BitOp op, Form form);  // kRR/kMR: bit index in r1; kRI/kMI: in imm
Handler alu_bsf(bool reverse, Form form);
Handler alu_xadd(Form form);
Handler alu_cmpxchg(Form form);
Handler alu_setcc(Form form);   // cc in insn.op
Handler alu_cmovcc(Form form);  // cc in insn.op
extern const Handler kBswap, kCbw, kCwd, kLahf, kSahf, kClc, kStc, kCmc, kCld, kStd;

// exec/locked.cc: the LOCK'ed forms, done atomically on the host (memory
// destinations only; nullptr for any other form).
Handler lock_alu_binary(AluOp op, Form form, unsigned size);   // kMR, kMI; not CMP, TEST
Handler lock_alu_unary(UnaryOp op, Form form, unsigned size);  // kM
Handler lock_bit(BitOp op, Form form);                         // BTS/BTR/BTC: kMR, kMI
Handler lock_xadd(Form form);                                  // kMR
Handler lock_cmpxchg(Form form);                               // kMR
Handler lock_xchg(Form form);  // kMR, kRM: XCHG with memory is locked with or without LOCK
extern const Handler kLockCmpxchg8b, kLockCmpxchg16b;

// exec/data.cc
Handler data_mov(Form form, unsigned size);
// MOVZX/MOVSX/MOVSXD: `size` the destination's, `src_size` the source's (also in size2).
Handler data_movx(bool sign, Form form, unsigned size, unsigned src_size);
Handler data_lea(unsigned size);
Handler data_xchg(Form form);
Handler data_push(Form form, unsigned size);  // kR, kM, kI
Handler data_pop(Form form, unsigned size);   // kR, kM
Handler data_mov_to_sreg(Form form);          // sreg in r0, source r1/memory
Handler data_mov_from_sreg(Form form);        // sreg in r1
extern const Handler kPushSreg, kPopSreg, kPushf, kPopf, kPusha, kPopa, kNop, kEnter, kLeave, kXlat;

// exec/string.cc: op in insn.op.
enum class StringOp : uint8_t { kMovs, kStos, kLods, kCmps, kScas, kIns, kOuts };
Handler string_op(StringOp op);

// exec/control.cc
Handler ctl_jcc(unsigned cc);  // Jcc, one handler per condition
extern const Handler kJmpRel, kCallRel, kRet, kRetImm, kRetf, kRetfImm, kLoop, kLoope, kLoopne,
    kJcxz, kInt, kInt3, kInto, kInt1, kIret, kHlt, kJmpFar, kCallFar;
Handler ctl_jmp_indirect(Form form);
Handler ctl_call_indirect(Form form);
Handler ctl_jmp_far_indirect();   // JMP m16:16/32/64
Handler ctl_call_far_indirect();  // CALL m16:16/32/64

// exec/system.cc
extern const Handler kCli, kSti, kInImm, kInDx, kOutImm, kOutDx, kLgdt, kLidt, kSgdt, kSidt,
    kMovToCr, kMovFromCr, kMovToDr, kMovFromDr, kRdmsr, kWrmsr, kCpuid, kRdtsc, kRdtscp, kSwapgs,
    kSyscall, kSysret, kInvlpg, kNopSystem, kRaiseUd, kUnimplemented, kClts, kLoadFarPointer;
Handler sys_lldt(Form form);
Handler sys_ltr(Form form);
Handler sys_sldt_str(bool tr, Form form);
Handler sys_lmsw(Form form);
Handler sys_smsw(Form form);
// exec/seg_check.cc
Handler sys_verify(bool write, Form form);  // VERR/VERW
Handler sys_lar_lsl(bool lsl, Form form);   // LAR/LSL r, r/m16

}  // namespace vessel::cpu

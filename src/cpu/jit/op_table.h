// What the translator knows about a record: the operation its handler
// performs, found from the handler pointer (the decoder binds one handler
// per operation and operand form, so the pointer names both).
#pragma once

#include <cstdint>

#include "cpu/decode/insn.h"
#include "cpu/exec/handlers.h"

namespace vessel::cpu {

enum class JitKind : uint8_t {
  kNone,   // not translated inline: the record's handler is called
  kAlu,    // AluOp in op
  kUnary,  // UnaryOp in op
  kShift,  // ShiftOp in op (count in imm)
  kImul,   // IMUL r, r/m (kRR, kRM) or r, r/m, imm (kRRI, kRMI)
  kMov,
  kMovzx,
  kMovsx,
  kLea,
  kPush,
  kPop,
  kJmp,      // JMP rel
  kCall,     // CALL rel
  kRet,      // RET (near, no immediate)
  kJmpInd,   // JMP r/m (kR, kM)
  kCallInd,  // CALL r (kR)
  kJcc,      // condition in op
  kCmov,     // condition in op
  kSetcc,    // condition in op
  kNop,      // NOP, hint NOPs (ENDBR, PAUSE, prefetches, fences): nothing to do
  kLeave,
};

struct JitOp {
  JitKind kind = JitKind::kNone;
  uint8_t op = 0;
  Form form = Form::kNone;
};

// The operation `handler` performs (kind kNone when the translator does not
// know it).
JitOp jit_op_of(Handler handler);

}  // namespace vessel::cpu

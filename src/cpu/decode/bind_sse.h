// Binds SSE and SSE2 instructions (legacy encodings with XMM operands, and
// MOVNTI) to the handlers of exec/sse.h. Internal to the decoder.
#pragma once

#include <Zydis/Zydis.h>

#include "cpu/decode/insn.h"

namespace vessel::cpu {

// The handler for an SSE/SSE2 instruction, with the XMM and general register
// numbers, the memory operand's size and the operation filled into `out`
// (fill_operands has already filled the memory operand's address fields);
// nullptr when the instruction is not SSE/SSE2 (or uses MMX registers).
Handler bind_sse(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Insn* out);

}  // namespace vessel::cpu

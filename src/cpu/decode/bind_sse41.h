// Binds the SSE4.1 instructions (legacy encodings) to the SSE handler shapes
// with the operations of exec/sse41.h. Internal to the decoder.
#pragma once

#include <Zydis/Zydis.h>

#include "cpu/decode/insn.h"

namespace vessel::cpu {

// The handler with registers, operation (imm), imm8 (imm2) and memory size
// (size2) filled into `out`; nullptr when not SSE4.1.
Handler bind_sse41(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Insn* out);

}  // namespace vessel::cpu

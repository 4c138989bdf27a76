// Binds the SSE3 and SSSE3 instructions (legacy encodings; SSSE3 with XMM
// and MMX registers) to the SSE/MMX handler shapes with the operations of
// exec/ssse3.h. Internal to the decoder. MONITOR/MWAIT are not bound (#UD).
#pragma once

#include <Zydis/Zydis.h>

#include "cpu/decode/insn.h"

namespace vessel::cpu {

// The handler with r0/r1, the operation (imm), imm8 (imm2) and the memory
// size (size2) filled into `out`; nullptr when not SSE3/SSSE3.
Handler bind_ssse3(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Insn* out);

}  // namespace vessel::cpu

// Binds the SSE4.2 instructions (legacy encodings: PCMPGTQ, PCMPESTRI,
// PCMPESTRM, PCMPISTRI, PCMPISTRM, CRC32) to the handlers of exec/sse42.h.
// POPCNT is bound by decode/bind_intops.cc. Internal to the decoder.
#pragma once

#include <Zydis/Zydis.h>

#include "cpu/decode/insn.h"

namespace vessel::cpu {

// The handler with its operands filled into `out`; nullptr when not SSE4.2.
Handler bind_sse42(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Insn* out);

}  // namespace vessel::cpu

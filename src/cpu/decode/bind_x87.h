// Decoder binding of the x87 escape opcodes (D8-DF), FWAIT, FXSAVE/FXRSTOR,
// XSAVE/XSAVEOPT/XRSTOR, XGETBV/XSETBV and LDMXCSR/STMXCSR to the handlers
// of exec/x87_handlers.h.
#pragma once

#include <Zydis/Zydis.h>

#include "cpu/decode/insn.h"

namespace vessel::cpu {

// The handler for `zi`, with the record's x87 fields filled in, or nullptr
// when the instruction is not one of these.
Handler bind_x87(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Insn* out);

}  // namespace vessel::cpu

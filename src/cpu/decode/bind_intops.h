// Decoder binding of the integer extension instructions (exec/intops.h) and
// of RDRAND/RDSEED (not advertised: #UD) and ENDBR32/64 (NOPs without CET).
// Returns nullptr for other mnemonics.
#pragma once

#include <Zydis/Zydis.h>

#include "cpu/decode/insn.h"

namespace vessel::cpu {

Handler bind_intops(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Insn* out);

}  // namespace vessel::cpu

// Turns one Zydis-decoded instruction into a Vessel instruction record: the
// operand fields, and the handler for its mnemonic and operand form.
// Internal to the decoder (the only file besides decoder.cc that sees Zydis).
#pragma once

#include <Zydis/Zydis.h>

#include "cpu/decode/insn.h"

namespace vessel::cpu {

void bind_insn(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Insn* out);

}  // namespace vessel::cpu

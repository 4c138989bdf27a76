// Guest bytes -> a block of instruction records (Zydis underneath). A block
// starts at `linear` (guest-physical `gpa`) and ends after an instruction
// that can change control flow or the processor mode, at the end of the page
// (only the block's first instruction may continue onto the next page), or
// after BlockCache::kMaxInsns records.
#pragma once

#include <cstdint>
#include <memory>

#include "cpu/decode/block_cache.h"

namespace vessel::cpu {

class Cpu;

// Decodes a block; nullptr with a fault pending in `cpu` when its first
// instruction cannot be fetched.
BlockPtr decode_block(Cpu& cpu, uint64_t linear, uint64_t gpa, DecodeMode mode);

// Decodes one instruction from `bytes` into `out` (binding its handler);
// returns false when the bytes are not a complete instruction (more bytes
// needed). Invalid encodings bind #UD and return true.
bool decode_insn(const uint8_t* bytes, unsigned size, DecodeMode mode, Insn* out);

// The mnemonic's name for logs and profiles ("add", "mov", ...).
const char* mnemonic_name(uint16_t mnemonic);

}  // namespace vessel::cpu

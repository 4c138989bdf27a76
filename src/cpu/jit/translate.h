// The translator: one block of records to host code (see jit.h).
#pragma once

#include <cstddef>
#include <cstdint>

namespace vessel::cpu {

class Cpu;
struct Block;

enum class TranslateStatus : uint8_t {
  kDone,
  kNoRoom,    // the code does not fit in the room given
  kDeclined,  // a block the translator does not take (a mode it does not know)
};

struct TranslateResult {
  TranslateStatus status = TranslateStatus::kDeclined;
  size_t bytes = 0;
  unsigned inline_records = 0;
  unsigned fallback_records = 0;
};

// Emits `block` at `at` (up to `room` bytes) for the CPU's current privilege
// level. The code expects the Cpu in rbx and the stack set up by Jit's entry
// stub, and leaves through `exit` with a Flow in eax.
TranslateResult translate_block(Cpu& cpu, const Block& block, uint8_t* at, size_t room,
                                const void* exit);

}  // namespace vessel::cpu

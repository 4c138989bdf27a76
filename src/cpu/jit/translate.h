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

// Where translated code goes when it leaves a block (Jit's entry stub):
// `exit` returns the Flow in eax to the executor; `link_end` (after a near
// branch, target in next_rip) and `link_chain` (RIP past the block) go on
// into the next block's translated code where Cpu::jit_link allows it, and
// return kEnd or kChain otherwise. All three expect cur_insn_ set.
struct JitExits {
  const void* exit = nullptr;
  const void* link_end = nullptr;
  const void* link_chain = nullptr;
};

// Emits `block` at `at` (up to `room` bytes) for the CPU's current privilege
// level. The code expects the Cpu in rbx and the stack set up by Jit's entry
// stub.
TranslateResult translate_block(Cpu& cpu, const Block& block, uint8_t* at, size_t room,
                                const JitExits& exits);

}  // namespace vessel::cpu

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
  size_t body = 0;  // offset of the direct entry (see JitExitSite)
  unsigned inline_records = 0;
  unsigned fallback_records = 0;
};

// Where translated code goes when it leaves a block (Jit's entry stub):
// `exit` returns the Flow in eax to the executor; `link_end` (after a near
// branch, target in next_rip) and `link_chain` (RIP past the block) go on
// into the next block's translated code where Cpu::jit_link allows it, and
// return kEnd or kChain otherwise. All expect cur_insn_ and cur_block_ set.
// `site_end` and `site_chain` do the same for a direct exit, with rdx
// pointing at its JitExitSite, and may patch it (Jit::link_site).
struct JitExits {
  const void* exit = nullptr;
  const void* link_end = nullptr;
  const void* link_chain = nullptr;
  const void* site_end = nullptr;
  const void* site_chain = nullptr;
  // A return (rcx: the target RIP, rsi: the Block that ends, rdx: where to
  // go instead, with rcx kept; clobbers r10): into the target's translated code when the block's
  // successors or the jump cache know it in this epoch, else to rdx.
  // Checks no event: the exit spends the budget as a direct exit does.
  const void* link_return = nullptr;
};

// A direct exit: a block leaving to a RIP it knows (a relative JMP, CALL or
// Jcc, or its end). In translated code:
//     lea r12, [r12 + target]          ; r12: the next block's first RIP
//     sub qword [cpu.jit_left], count  ; the instructions the block ran
//     jle tail                         ; budget spent: the executor's turn
//   site:
//     jmp tail                         ; patched: jmp <next block's body>
//   tail (out of line):
//     add qword [cpu.jit_left], count
//     RIP (or next_rip for a branch) = r12; cur_insn_, cur_block_
//     lea rdx, [this JitExitSite]
//   last_jmp:
//     jmp site_end / site_chain        ; retargeted: jmp link_end / link_chain
// A patched site enters the next block's body (its code past the load of
// r12) without the executor or a lookup: only while both blocks lie in the
// same guest page (so the same mapping holds for both) and the next block
// lives (dropping it unpatches the site). Between the executor's checks
// (interrupts, stop requests) translated code runs at most Cpu::kJitBudget
// instructions this way.
struct JitExitSite {
  uint8_t* site;      // the patchable jmp (E9 rel32)
  uint8_t* last_jmp;  // the tail's last jmp (E9 rel32)
  int32_t target;     // the target's offset from the block's first RIP
  uint32_t count;     // instructions the block ran when it leaves here
  uint8_t branch;     // a taken branch (kEnd, next_rip) or the block's end (kChain, RIP)
};

// Emits `block` at `at` (up to `room` bytes) for the CPU's current privilege
// level. The code expects the Cpu in rbx and the stack set up by Jit's entry
// stub.
TranslateResult translate_block(Cpu& cpu, const Block& block, uint8_t* at, size_t room,
                                const JitExits& exits);

}  // namespace vessel::cpu

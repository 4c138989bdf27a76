// Handler chaining: `chained<F>` is handler F followed, when F completes
// normally (kNext), by a jump to the block's next record (Cpu::chain_next).
// The records of a block then run as one chain of tail calls: no return to
// the executor between them, and each handler has its own indirect jump, so
// the host predicts the next handler from the one running now. A chained
// near branch (and a block's block_end record) goes on into the block linked
// as its successor (Cpu::chain_block) while nothing asks for the executor. The decoder
// binds chained handlers for the frequent instruction families; any other
// handler returns to the executor's loop, which goes on from the next record.
#pragma once

#include "cpu/cpu.h"

namespace vessel::cpu {

template <Handler F>
Flow chained(Cpu& c, const Insn& i) {
  Flow f = F(c, i);
  if (f == Flow::kNext) return c.chain_next(i);
  // A near branch ended the block: on to the next block when it is linked.
  if (f == Flow::kEnd) return c.chain_block(true);
  return f;
}

// Fast, then Full when needed: Fast is a handler instantiated with kFast
// memory accesses (Cpu::read), which fail with no exception pending and
// nothing changed where the inline fast path does not apply; Full (the same
// handler with every check and the slow paths) then runs the instruction.
// Fast needs no stack frame for slow-path calls it never makes (Full is kept
// out of line so that it stays that way).
template <Handler Full>
[[gnu::noinline]] Flow chained_slow(Cpu& c, const Insn& i) {
  return chained<Full>(c, i);
}

template <Handler Fast, Handler Full>
Flow chained_fast(Cpu& c, const Insn& i) {
  Flow f = Fast(c, i);
  if (f == Flow::kNext) return c.chain_next(i);
  if (f == Flow::kEnd) return c.chain_block(true);
  if (f == Flow::kFault && !c.fault_pending()) return chained_slow<Full>(c, i);
  return f;
}

}  // namespace vessel::cpu

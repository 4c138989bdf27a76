// The translator's planning pass (jit/translate.cc): what each record of a
// block becomes, decided backwards over the block.
#pragma once

#include <vector>

#include "cpu/decode/block_cache.h"
#include "cpu/jit/op_table.h"

namespace vessel::cpu {

// What the planning pass decided for a record.
struct Plan {
  JitOp op;
  bool inl = false;     // emitted inline
  bool reads = false;   // reads the guest flags
  bool writes = false;  // sets all six arithmetic flags (no inline record sets fewer)
  bool exits = false;   // may leave the block (a fault, a branch, a handler call)
  // The flags are observed later: the emitted code defines those the host
  // leaves undefined as the interpreter does.
  bool exact = false;
};

// Whether the flags are observed after each record (after the block: the
// next one may read them) decides whether records with flags unlike the
// interpreter's (undefined ones) may be emitted inline.
std::vector<Plan> plan_block(const Block& block);

}  // namespace vessel::cpu

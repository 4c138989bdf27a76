// Machine code around the instruction under test on the host: a prologue that
// loads a UserState's registers from a state block and an epilogue that stores
// them back, both emitted here byte by byte (absolute disp32 addressing, so no
// register is needed to find the block).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "user_state.h"

namespace vessel::difftest {

// The state block the stub reads and writes, at kStateBlockAddr (one page).
inline constexpr uint64_t kStateBlockAddr = 0x30000000;
struct StateBlock {
  uint64_t gpr[16];
  uint64_t rflags;
  uint64_t host_rsp;  // the caller's RSP while the instruction runs
  Xmm xmm[16];
  uint64_t mm[8];
  uint32_t mxcsr;
  uint32_t host_mxcsr;  // the caller's MXCSR while the instruction runs
};
static_assert(sizeof(StateBlock) == 472);
// The stub's own stack (for PUSHFQ/POPFQ) is the top of the block's page.
inline constexpr uint64_t kStubStackTop = kStateBlockAddr + 0x1000;

// Called as `void fn()` at kCodeAddr: saves the callee-saved registers, RSP
// and MXCSR, loads MM0-7 (then EMMS: x87 tags empty, TOP 0, the registers
// keep the values), MXCSR, XMM, RFLAGS and all GPRs from the block, then
// falls through to kInstrAddr (the gap is filled with NOPs).
std::vector<uint8_t> native_prologue();
// Placed right after the instruction: stores all GPRs, RFLAGS, XMM, MXCSR and
// MM0-7 into the block, EMMS, restores the caller's MXCSR, RSP and
// callee-saved registers, CLD, RET.
std::vector<uint8_t> native_epilogue();

}  // namespace vessel::difftest

// Integer instructions of the later extensions: CMPXCHG8B/16B, MOVBE, POPCNT,
// LZCNT/TZCNT, BMI1 (ANDN, BEXTR, BLSI, BLSMSK, BLSR), BMI2 (BZHI, MULX,
// PDEP, PEXT, RORX, SARX, SHLX, SHRX), ADCX/ADOX, and SYSENTER/SYSEXIT.
// Operand convention (set by decode/bind_intops.cc): r0 = the ModRM.reg
// register, r1 = the VEX.vvvv register, and the ModRM.rm operand is either
// the memory operand (memory form) or register `size2` (register form).
#pragma once

#include "cpu/exec/handlers.h"

namespace vessel::cpu {

enum class IntOp : uint8_t {
  kCmpxchg8b,
  kCmpxchg16b,
  kMovbeLoad,   // MOVBE r, m
  kMovbeStore,  // MOVBE m, r
  kPopcnt,
  kLzcnt,
  kTzcnt,
  kAndn,
  kBextr,
  kBlsi,
  kBlsmsk,
  kBlsr,
  kBzhi,
  kMulx,
  kPdep,
  kPext,
  kRorx,
  kSarx,
  kShlx,
  kShrx,
  kAdcx,
  kAdox,
};

// The handler for `op` with its ModRM.rm operand in memory or a register.
Handler intop(IntOp op, bool rm_is_memory);

extern const Handler kSysenter, kSysexit;

}  // namespace vessel::cpu

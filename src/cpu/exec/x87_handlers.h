// The x87 FPU and FXSAVE-family handlers (exec/x87_*.cc, exec/fxsave.cc)
// and the operation codes the decoder (decode/bind_x87.cc) stores in their
// records: insn.op (operation), insn.size2 (memory format, or pop count of
// register forms), insn.r1 (the ST(i) index), insn.imm2 (the 11-bit FOP),
// insn.opsize (2 or 4: the FNSTENV/FNSAVE layout).
#pragma once

#include <cstdint>

#include "cpu/decode/insn.h"

namespace vessel::cpu {

enum class X87Mem : uint8_t { kF32, kF64, kF80, kI16, kI32, kI64, kBcd };
// ModRM.reg order of the D8/DA/DC/DE arithmetic groups.
enum class X87Arith : uint8_t { kAdd, kMul, kCom, kComp, kSub, kSubr, kDiv, kDivr };
enum class X87Special : uint8_t {
  kChs,
  kAbs,
  kTst,
  kXam,
  kF2xm1,
  kFyl2x,
  kFptan,
  kFpatan,
  kFxtract,
  kFprem1,
  kFprem,
  kFyl2xp1,
  kFsqrt,
  kFsincos,
  kFrndint,
  kFscale,
  kFsin,
  kFcos,
};
enum class X87Store : uint8_t { kSt, kStp, kIsttp };  // FST/FIST, FSTP/FISTP/FBSTP, FISTTP
// Compare flavours (insn.op bits).
namespace x87_cmp {
inline constexpr uint8_t kUnordered = 1;  // FUCOM*: QNaN operands do not raise IE
inline constexpr uint8_t kEflags = 2;     // FCOMI/FUCOMI*: result in ZF/PF/CF
}  // namespace x87_cmp

unsigned x87_mem_size(X87Mem m);

// exec/x87_arith.cc
extern const Handler kX87ArithMem,  // ST0 = ST0 op m (op: X87Arith, size2: X87Mem)
    kX87ArithSt0,                   // ST0 = ST0 op ST(i)
    kX87ArithSti,                   // ST(i) = ST(i) op ST0, then size2 pops
    kX87Compare,                    // ST0 with ST(i) (op: x87_cmp bits, size2 pops)
    kX87Special;                    // op: X87Special
// exec/x87_load_store.cc
extern const Handler kX87LoadMem, kX87LoadSt, kX87LoadConst, kX87StoreMem, kX87StoreSt, kX87Fxch,
    kX87Ffree, kX87Fcmov, kX87Fincstp, kX87Fdecstp, kX87Fnop;
// exec/x87_control.cc
extern const Handler kX87Fninit, kX87Fnclex, kX87Fldcw, kX87Fnstcw, kX87FnstswMem, kX87FnstswAx,
    kX87Fnstenv, kX87Fldenv, kX87Fnsave, kX87Frstor, kX87Fwait, kX87NoWaitNop;
// exec/fxsave.cc (op = 1: the REX.W 64-bit layout)
extern const Handler kFxsave, kFxrstor, kLdmxcsr, kStmxcsr;
// exec/xsave.cc (op = 1: the REX.W 64-bit layout). XSAVEOPT is XSAVE.
extern const Handler kXsave, kXrstor, kXgetbv, kXsetbv;
// The XCR0 bits XSETBV accepts: x87 and SSE.
inline constexpr uint64_t kXcr0Supported = 3;

}  // namespace vessel::cpu

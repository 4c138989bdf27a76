// What the Intel SDM (Vol. 2, "Flags Affected" of each instruction page)
// leaves undefined, per mnemonic: a fixed mask of arithmetic flags, and for
// shifts and rotates a rule that depends on the masked count.
#pragma once

#include <Zydis/Zydis.h>

#include <cstdint>

namespace vessel::difftest {

enum class CountRule : uint8_t {
  kNone,         // the fixed mask is all
  kShift,        // SAL/SHL/SHR/SAR: count 0: nothing; else AF; count != 1: OF
  kShiftCfWide,  // SHL/SHR: as kShift, and CF when count >= operand size
  kRotate,       // ROL/ROR/RCL/RCR: count != 0 and != 1: OF
  kShiftDouble,  // SHLD/SHRD: count 0: nothing; else AF; count != 1: OF
};

struct FlagRule {
  uint64_t undefined = 0;  // always undefined (with any count rule applied on top)
  CountRule count = CountRule::kNone;
  bool dest_undefined_if_zf = false;  // BSF/BSR: destination undefined for a zero source
};

FlagRule sdm_flag_rule(ZydisMnemonic mnemonic);

}  // namespace vessel::difftest

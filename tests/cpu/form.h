// One instruction form of the differential-test catalogue: a mnemonic with an
// operand shape, size and registers, either as an encoder request (its
// immediate, if any, is chosen per test state) or as fixed bytes; plus what the
// SDM leaves undefined for it and how to make interesting input states.
#pragma once

#include <Zydis/Zydis.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "sdm_flags.h"
#include "user_state.h"

namespace vessel::difftest {

// How the state generator must shape the inputs of a form.
enum class Hint : uint8_t {
  kNone,
  kDivide,               // DIV/IDIV: often make the dividend's high half fit
  kString,               // RSI/RDI point into the data area, RCX is a small count
  kBitOffset,            // BT* m, r: the offset register (hint_gpr) is small
  kCount,                // shift/rotate: CL or the immediate from a set of counts
  kCompareExchange,      // CMPXCHG: often make the accumulator equal the destination
  kFrame,                // ENTER/LEAVE: RBP points into the stack part of the data area
  kCompareExchangeWide,  // CMPXCHG8B/16B: often make rDX:rAX equal the memory operand
  kSimd,                 // SSE forms: XMM and memory lanes of special floats/integers, equal lanes,
                         // a mostly 16-byte aligned memory operand; string compares get short
                         // strings and small lengths in RAX/RDX (state_gen_simd.cc)
};

struct Form {
  std::string name;  // e.g. "add r32,m32 v1"
  ZydisMnemonic mnemonic = ZYDIS_MNEMONIC_INVALID;
  std::vector<uint8_t> raw;  // the bytes, when the form has no request
  ZydisEncoderRequest request{};
  int imm_index = -1;         // operand of `request` that takes the per-state immediate
  int imm_bits = 0;           // its width (8, 16, 32 or 64)
  bool imm_unsigned = false;  // hand the encoder the low imm_bits of the immediate, zero-extended
  int size = 0;               // operand size in bits
  FlagRule rule;              // undefined flags (SDM), maybe depending on the count
  int count_max = -1;         // largest shift count to generate (-1: any)
  int dest_gpr = -1;          // register destination (for FlagRule::dest_undefined_if_zf)
  uint16_t pointer_gprs = 0;  // registers that must point into the data area
  int mem_gpr = -1;           // base register of the memory operand
  int64_t mem_disp = 0;       // its displacement
  Hint hint = Hint::kNone;
  int hint_gpr = -1;  // the register a hint concerns (bit offset, compare-exchange destination)
  bool mem_dest_compare = false;  // kCompareExchange on a memory destination
  bool addr32 = false;  // 67h form: bits 32-63 of pointers (and of RCX for REP) are garbage
};

// The bytes of `form` with immediate `imm` (ignored when it has none).
Expected<std::vector<uint8_t>> encode_form(const Form& form, int64_t imm);

// Flags the SDM leaves undefined for this form and input (count-dependent
// rules read CL or the immediate).
uint64_t undefined_flags(const Form& form, const UserState& in, int64_t imm);

}  // namespace vessel::difftest

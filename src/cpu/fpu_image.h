// Conversions between the FPU register file (cpu/fpu_state.h) and the
// 512-byte FXSAVE image (SDM Vol. 1, 10.5.1): used by FXSAVE/FXRSTOR and by
// the CpuState conversion (whose xsave area starts with this image). Also
// the x87 tag classification both need.
#pragma once

#include <cstdint>

#include "cpu/fpu_state.h"

namespace vessel::cpu {

// MXCSR bits this CPU implements (all 16, DAZ included: the SSE paths run
// under the guest's DAZ); the value FXSAVE stores as MXCSR_MASK. Setting
// any other bit is #GP.
inline constexpr uint32_t kMxcsrMask = 0xFFFF;
inline constexpr unsigned kFxsaveSize = 512;

// The 2-bit tag (0 valid, 1 zero, 2 special) a non-empty register holding
// `v` gets (SDM Vol. 1, 8.1.7).
uint16_t x87_tag_of(const Float80& v);
// The full tag word with every non-empty register's tag recomputed from its
// contents (empty registers stay empty).
uint16_t x87_full_tag_word(const X87State& s);

// Writes the whole 512-byte image (reserved and available bytes zero).
// `format64`: the REX.W layout (64-bit FIP/FDP, no FCS/FDS); `xmm_count`:
// how many XMM registers are stored (8 outside 64-bit mode, else 16).
void fxsave_image(const FpuState& s, uint8_t* out, bool format64, unsigned xmm_count);
// Loads the image into `s`. Returns false, leaving `s` unchanged, when its
// MXCSR sets bits outside kMxcsrMask (FXRSTOR's #GP).
bool fxrstor_image(FpuState& s, const uint8_t* in, bool format64, unsigned xmm_count);

}  // namespace vessel::cpu

// SSE4.2 for the software CPU (exec/sse42.cc): PCMPGTQ in the shapes of
// exec/sse.h, the four string compares PCMPESTRI/PCMPESTRM/PCMPISTRI/
// PCMPISTRM, and CRC32 (a GPR instruction with its own handlers). POPCNT,
// also part of SSE4.2, is in exec/intops.cc.
#pragma once

#include "cpu/exec/sse.h"

namespace vessel::cpu {

// Bit 8 of the imm the string compares receive (Insn::imm2 above the imm8):
// REX.W, so the explicit lengths come from RAX/RDX instead of EAX/EDX.
inline constexpr unsigned kStrRexW = 1u << 8;

VESSEL_XMM_FN(pcmpgtq);
// The string compares: xmm(r0) is the first operand (read only); the index
// goes to ECX (..stri), the mask to XMM0 (..strm); the flags are set.
VESSEL_XMM_FN(pcmpestri);
VESSEL_XMM_FN(pcmpestrm);
VESSEL_XMM_FN(pcmpistri);
VESSEL_XMM_FN(pcmpistrm);

// CRC32 r32/r64 (r0, opsize bytes), r/m (size2 bytes: register r1 or memory).
Handler sse42_crc32(bool mem);

// The CRC-32C step CRC32 performs: `crc` updated by the low `bytes` bytes of
// `data` (reflected polynomial 0x82F63B78, no inversion).
uint32_t crc32c_update(uint32_t crc, uint64_t data, unsigned bytes);

}  // namespace vessel::cpu

// SSE2 packed integer operations on XMM registers: add/subtract (wrapping
// and saturating), multiplies, averages, min/max, sums of absolute
// differences, compares, packs, logic, unpacks, shuffles and shifts.
#include "cpu/exec/sse.h"

namespace vessel::cpu {

#define VESSEL_SI2(name, intrinsic)  \
  VESSEL_XMM_FN(name) {              \
    put(d, intrinsic(si(d), si(s))); \
  }

VESSEL_SI2(paddb, _mm_add_epi8)
VESSEL_SI2(paddw, _mm_add_epi16)
VESSEL_SI2(paddd, _mm_add_epi32)
VESSEL_SI2(paddq, _mm_add_epi64)
VESSEL_SI2(psubb, _mm_sub_epi8)
VESSEL_SI2(psubw, _mm_sub_epi16)
VESSEL_SI2(psubd, _mm_sub_epi32)
VESSEL_SI2(psubq, _mm_sub_epi64)
VESSEL_SI2(paddsb, _mm_adds_epi8)
VESSEL_SI2(paddsw, _mm_adds_epi16)
VESSEL_SI2(paddusb, _mm_adds_epu8)
VESSEL_SI2(paddusw, _mm_adds_epu16)
VESSEL_SI2(psubsb, _mm_subs_epi8)
VESSEL_SI2(psubsw, _mm_subs_epi16)
VESSEL_SI2(psubusb, _mm_subs_epu8)
VESSEL_SI2(psubusw, _mm_subs_epu16)
VESSEL_SI2(pmullw, _mm_mullo_epi16)
VESSEL_SI2(pmulhw, _mm_mulhi_epi16)
VESSEL_SI2(pmulhuw, _mm_mulhi_epu16)
VESSEL_SI2(pmuludq, _mm_mul_epu32)
VESSEL_SI2(pmaddwd, _mm_madd_epi16)
VESSEL_SI2(pavgb, _mm_avg_epu8)
VESSEL_SI2(pavgw, _mm_avg_epu16)
VESSEL_SI2(psadbw, _mm_sad_epu8)
VESSEL_SI2(pminub, _mm_min_epu8)
VESSEL_SI2(pmaxub, _mm_max_epu8)
VESSEL_SI2(pminsw, _mm_min_epi16)
VESSEL_SI2(pmaxsw, _mm_max_epi16)
VESSEL_SI2(pcmpeqb, _mm_cmpeq_epi8)
VESSEL_SI2(pcmpeqw, _mm_cmpeq_epi16)
VESSEL_SI2(pcmpeqd, _mm_cmpeq_epi32)
VESSEL_SI2(pcmpgtb, _mm_cmpgt_epi8)
VESSEL_SI2(pcmpgtw, _mm_cmpgt_epi16)
VESSEL_SI2(pcmpgtd, _mm_cmpgt_epi32)
VESSEL_SI2(packsswb, _mm_packs_epi16)
VESSEL_SI2(packssdw, _mm_packs_epi32)
VESSEL_SI2(packuswb, _mm_packus_epi16)
VESSEL_SI2(pand, _mm_and_si128)
VESSEL_SI2(pandn, _mm_andnot_si128)
VESSEL_SI2(por, _mm_or_si128)
VESSEL_SI2(pxor, _mm_xor_si128)
VESSEL_SI2(punpcklbw, _mm_unpacklo_epi8)
VESSEL_SI2(punpcklwd, _mm_unpacklo_epi16)
VESSEL_SI2(punpckldq, _mm_unpacklo_epi32)
VESSEL_SI2(punpcklqdq, _mm_unpacklo_epi64)
VESSEL_SI2(punpckhbw, _mm_unpackhi_epi8)
VESSEL_SI2(punpckhwd, _mm_unpackhi_epi16)
VESSEL_SI2(punpckhdq, _mm_unpackhi_epi32)
VESSEL_SI2(punpckhqdq, _mm_unpackhi_epi64)
// The count is the source's low quadword (a count past the element width
// clears the elements, or fills them with the sign for PSRA).
VESSEL_SI2(psllw, _mm_sll_epi16)
VESSEL_SI2(pslld, _mm_sll_epi32)
VESSEL_SI2(psllq, _mm_sll_epi64)
VESSEL_SI2(psrlw, _mm_srl_epi16)
VESSEL_SI2(psrld, _mm_srl_epi32)
VESSEL_SI2(psrlq, _mm_srl_epi64)
VESSEL_SI2(psraw, _mm_sra_epi16)
VESSEL_SI2(psrad, _mm_sra_epi32)

#define VESSEL_SHIFT_IMM(name, intrinsic)                                      \
  VESSEL_XMM_FN(name) {                                                        \
    put(d, intrinsic(si(d), _mm_cvtsi32_si128(static_cast<int>(imm & 0xFF)))); \
  }

VESSEL_SHIFT_IMM(psllw_imm, _mm_sll_epi16)
VESSEL_SHIFT_IMM(pslld_imm, _mm_sll_epi32)
VESSEL_SHIFT_IMM(psllq_imm, _mm_sll_epi64)
VESSEL_SHIFT_IMM(psrlw_imm, _mm_srl_epi16)
VESSEL_SHIFT_IMM(psrld_imm, _mm_srl_epi32)
VESSEL_SHIFT_IMM(psrlq_imm, _mm_srl_epi64)
VESSEL_SHIFT_IMM(psraw_imm, _mm_sra_epi16)
VESSEL_SHIFT_IMM(psrad_imm, _mm_sra_epi32)

VESSEL_XMM_FN(pslldq) {
  unsigned n = imm & 0xFF;
  Xmm r{};
  for (unsigned k = n; k < 16; ++k) r.b[k] = d.b[k - n];
  d = r;
}
VESSEL_XMM_FN(psrldq) {
  unsigned n = imm & 0xFF;
  Xmm r{};
  for (unsigned k = 0; k + n < 16; ++k) r.b[k] = d.b[k + n];
  d = r;
}

VESSEL_XMM_FN(pshufd) {
  Xmm r;
  for (unsigned k = 0; k < 4; ++k) r.d[k] = s.d[(imm >> (2 * k)) & 3];
  d = r;
}
VESSEL_XMM_FN(pshuflw) {
  Xmm r = s;
  for (unsigned k = 0; k < 4; ++k) r.w[k] = s.w[(imm >> (2 * k)) & 3];
  d = r;
}
VESSEL_XMM_FN(pshufhw) {
  Xmm r = s;
  for (unsigned k = 0; k < 4; ++k) r.w[4 + k] = s.w[4 + ((imm >> (2 * k)) & 3)];
  d = r;
}

}  // namespace vessel::cpu

// SSE3 floating point and duplicating moves. The horizontal and alternating
// operations are built from SSE2 packed adds/subtracts that perform exactly
// the instruction's lane operations (unused lanes add or subtract +0.0,
// which raises nothing), so the MXCSR flags match the instruction's.
#include "cpu/exec/sse_ordered.h"
#include "cpu/exec/ssse3.h"

namespace vessel::cpu {
namespace {

// Lanes of `v` selected by `mask` (all-ones lanes kept, the rest +0.0).
__m128 keep(__m128 v, __m128 mask) {
  return _mm_and_ps(v, mask);
}

}  // namespace

VESSEL_XMM_FN(addsubps) {
  __m128 even = _mm_castsi128_ps(_mm_set_epi32(0, -1, 0, -1));
  __m128 odd = _mm_castsi128_ps(_mm_set_epi32(-1, 0, -1, 0));
  __m128 a = opaque(ps(d)), b = opaque(ps(s));
  __m128 diff = opaque(_mm_sub_ps(keep(a, even), keep(b, even)));
  __m128 sum = opaque(ordered_add_ps(keep(a, odd), keep(b, odd)));
  put(d, _mm_or_ps(keep(diff, even), keep(sum, odd)));
}

VESSEL_XMM_FN(addsubpd) {
  __m128d a = opaque(pd(d)), b = opaque(pd(s));
  __m128d diff = opaque(_mm_sub_sd(a, b));
  __m128d sum = opaque(
      ordered_add_pd(_mm_unpackhi_pd(_mm_setzero_pd(), a), _mm_unpackhi_pd(_mm_setzero_pd(), b)));
  put(d, _mm_move_sd(sum, diff));
}

// Horizontal: lane k of the result combines the pair (2k, 2k+1) of the
// destination (low half of the result) then of the source (high half).
VESSEL_XMM_FN(haddps) {
  __m128 a = opaque(ps(d)), b = opaque(ps(s));
  __m128 even = _mm_shuffle_ps(a, b, 0x88), odd = _mm_shuffle_ps(a, b, 0xDD);
  put(d, opaque(ordered_add_ps(opaque(even), opaque(odd))));
}

VESSEL_XMM_FN(hsubps) {
  __m128 a = opaque(ps(d)), b = opaque(ps(s));
  __m128 even = _mm_shuffle_ps(a, b, 0x88), odd = _mm_shuffle_ps(a, b, 0xDD);
  put(d, opaque(_mm_sub_ps(opaque(even), opaque(odd))));
}

VESSEL_XMM_FN(haddpd) {
  __m128d a = opaque(pd(d)), b = opaque(pd(s));
  __m128d even = _mm_unpacklo_pd(a, b), odd = _mm_unpackhi_pd(a, b);
  put(d, opaque(ordered_add_pd(opaque(even), opaque(odd))));
}

VESSEL_XMM_FN(hsubpd) {
  __m128d a = opaque(pd(d)), b = opaque(pd(s));
  __m128d even = _mm_unpacklo_pd(a, b), odd = _mm_unpackhi_pd(a, b);
  put(d, opaque(_mm_sub_pd(opaque(even), opaque(odd))));
}

VESSEL_XMM_FN(movddup) {
  d.q[0] = s.q[0];
  d.q[1] = s.q[0];
}

VESSEL_XMM_FN(movshdup) {
  Xmm r;
  r.d[0] = r.d[1] = s.d[1];
  r.d[2] = r.d[3] = s.d[3];
  d = r;
}

VESSEL_XMM_FN(movsldup) {
  Xmm r;
  r.d[0] = r.d[1] = s.d[0];
  r.d[2] = r.d[3] = s.d[2];
  d = r;
}

}  // namespace vessel::cpu

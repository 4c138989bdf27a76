// SSE4.1 floating point: ROUNDPS/PD/SS/SD (imm8 rounding control, MXCSR.RC
// with imm[2], precision exception suppressed with imm[3]) and the dot
// products DPPS/DPPD. They run on the host's SSE2 unit under the guest's
// MXCSR (exec/sse_exec.cc) and perform the same IEEE operations as the
// instruction, so the flags they raise are the instruction's.
#include <cstring>

#include "cpu/exec/sse41.h"
#include "cpu/exec/sse_ordered.h"

namespace vessel::cpu {
namespace {

// Switches the host's rounding control to imm[1:0] unless imm[2] selects
// MXCSR.RC (already in force).
void select_rounding(unsigned imm) {
  if (imm & 4) return;
  _mm_setcsr((_mm_getcsr() & ~0x6000u) | ((imm & 3) << 13));
}

// Drops the precision flag when imm[3] suppresses it (sse_run_fp starts
// each operation with no flags raised).
void suppress_precision(unsigned imm) {
  if (imm & 8) _mm_setcsr(_mm_getcsr() & ~0x20u);
}

// An element rounded to an integral value in the current rounding mode:
// NaNs are quietened (invalid for a signalling one), values too large to
// have a fraction and infinities come back unchanged, and the rest go
// through a conversion to integer and back (precision when inexact) with
// the sign kept for a zero result.
float round_float(float v) {
  uint32_t b;
  std::memcpy(&b, &v, 4);
  uint32_t mag = b & 0x7FFFFFFF;
  if (mag > 0x7F800000) return _mm_cvtss_f32(opaque(ordered_add_ss(_mm_set_ss(v), _mm_set_ss(v))));
  if (mag >= 0x4B000000) return v;  // |v| >= 2^23 or infinite
  int32_t i = _mm_cvtss_si32(opaque(_mm_set_ss(v)));
  float r = _mm_cvtss_f32(opaque(_mm_cvtsi32_ss(_mm_setzero_ps(), opaque_int(i))));
  uint32_t rb;
  std::memcpy(&rb, &r, 4);
  rb |= b & 0x80000000;
  std::memcpy(&r, &rb, 4);
  return r;
}

double round_double(double v) {
  uint64_t b;
  std::memcpy(&b, &v, 8);
  uint64_t mag = b & 0x7FFFFFFFFFFFFFFF;
  if (mag > 0x7FF0000000000000)
    return _mm_cvtsd_f64(opaque(ordered_add_sd(_mm_set_sd(v), _mm_set_sd(v))));
  if (mag >= 0x4330000000000000) return v;  // |v| >= 2^52 or infinite
  int64_t i = _mm_cvtsd_si64(opaque(_mm_set_sd(v)));
  double r = _mm_cvtsd_f64(opaque(_mm_cvtsi64_sd(_mm_setzero_pd(), opaque_int(i))));
  uint64_t rb;
  std::memcpy(&rb, &r, 8);
  rb |= b & 0x8000000000000000;
  std::memcpy(&r, &rb, 8);
  return r;
}

}  // namespace

VESSEL_XMM_FN(roundps) {
  select_rounding(imm);
  Xmm r;
  for (unsigned k = 0; k < 4; ++k) r.f[k] = round_float(s.f[k]);
  suppress_precision(imm);
  d = r;
}
VESSEL_XMM_FN(roundpd) {
  select_rounding(imm);
  Xmm r;
  for (unsigned k = 0; k < 2; ++k) r.f64[k] = round_double(s.f64[k]);
  suppress_precision(imm);
  d = r;
}
VESSEL_XMM_FN(roundss) {
  select_rounding(imm);
  d.f[0] = round_float(s.f[0]);
  suppress_precision(imm);
}
VESSEL_XMM_FN(roundsd) {
  select_rounding(imm);
  d.f64[0] = round_double(s.f64[0]);
  suppress_precision(imm);
}

// The dot products raise exceptions per stage (SDM DPPS/DPPD: "determined
// separately for each add and multiply"): the multiplies, then each level
// of adds. Within a stage an unmasked invalid, denormal or divide-by-zero
// exception keeps the overflow, underflow and precision flags out, as for
// one instruction; a stage that raises an unmasked exception ends the
// instruction with the flags of the stages so far and the destination
// unchanged (later stages neither run nor raise).
class DotStages {
 public:
  explicit DotStages(const Cpu& c) : masks_((c.fpu.mxcsr >> 7) & 0x3F) {}
  // Ends a stage: false when the instruction stops here (host flags = all
  // the stages' flags, sse_staged_fault set).
  bool next() {
    uint32_t csr = _mm_getcsr();
    uint32_t raised = csr & 0x3F;
    uint32_t unmasked = raised & ~masks_;
    if (unmasked & 0x7) raised &= 0x7;
    acc_ |= raised;
    if (unmasked) {
      _mm_setcsr((csr & ~0x3Fu) | acc_);
      sse_staged_fault = true;
      return false;
    }
    _mm_setcsr(csr & ~0x3Fu);
    return true;
  }
  // After the last stage: the host flags are those of all the stages.
  void finish() { _mm_setcsr(_mm_getcsr() | acc_); }

 private:
  uint32_t masks_;
  uint32_t acc_ = 0;
};

// Products of the lanes selected by imm[7:4] (+0.0 for the others), summed
// as (p0 + p1) + (p2 + p3), stored in the lanes selected by imm[3:0].
VESSEL_XMM_FN(dpps) {
  DotStages stages(c);
  __m128i sel = _mm_set_epi32((imm & 0x80) ? -1 : 0, (imm & 0x40) ? -1 : 0, (imm & 0x20) ? -1 : 0,
                              (imm & 0x10) ? -1 : 0);
  __m128 a = _mm_and_ps(opaque(ps(d)), _mm_castsi128_ps(sel));
  __m128 b = _mm_and_ps(opaque(ps(s)), _mm_castsi128_ps(sel));
  __m128 p = opaque(ordered_mul_ps(opaque(a), opaque(b)));
  if (!stages.next()) return;
  __m128 lo = opaque(ordered_add_ss(p, _mm_shuffle_ps(p, p, 0x55)));
  __m128 hi = opaque(ordered_add_ss(_mm_shuffle_ps(p, p, 0xAA), _mm_shuffle_ps(p, p, 0xFF)));
  if (!stages.next()) return;
  float sum = _mm_cvtss_f32(opaque(ordered_add_ss(lo, hi)));
  if (!stages.next()) return;
  stages.finish();
  Xmm r;
  for (unsigned k = 0; k < 4; ++k) r.f[k] = ((imm >> k) & 1) ? sum : 0.0f;
  d = r;
}

VESSEL_XMM_FN(dppd) {
  DotStages stages(c);
  __m128i sel = _mm_set_epi64x((imm & 0x20) ? -1 : 0, (imm & 0x10) ? -1 : 0);
  __m128d a = _mm_and_pd(opaque(pd(d)), _mm_castsi128_pd(sel));
  __m128d b = _mm_and_pd(opaque(pd(s)), _mm_castsi128_pd(sel));
  __m128d p = opaque(ordered_mul_pd(opaque(a), opaque(b)));
  if (!stages.next()) return;
  double sum = _mm_cvtsd_f64(opaque(ordered_add_sd(p, _mm_unpackhi_pd(p, p))));
  if (!stages.next()) return;
  stages.finish();
  Xmm r;
  for (unsigned k = 0; k < 2; ++k) r.f64[k] = ((imm >> k) & 1) ? sum : 0.0;
  d = r;
}

}  // namespace vessel::cpu

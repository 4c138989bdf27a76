// SSE/SSE2 conversions between single, double and 32/64-bit integers
// (CVTxx2yy, and the truncating CVTTxx2yy), run on the host's instructions
// under the guest's MXCSR (exec/sse_exec.cc). Out-of-range and NaN inputs
// give the integer indefinite value (0x80000000 / 0x8000000000000000) with
// the invalid flag, as the host does.
#include "cpu/exec/sse.h"

namespace vessel::cpu {

VESSEL_XMM_FN(cvtps2pd) {
  put(d, opaque(_mm_cvtps_pd(opaque(ps(s)))));
}
VESSEL_XMM_FN(cvtpd2ps) {
  put(d, opaque(_mm_cvtpd_ps(opaque(pd(s)))));
}
VESSEL_XMM_FN(cvtss2sd) {
  put(d, opaque(_mm_cvtss_sd(opaque(pd(d)), opaque(ps(s)))));
}
VESSEL_XMM_FN(cvtsd2ss) {
  put(d, opaque(_mm_cvtsd_ss(opaque(ps(d)), opaque(pd(s)))));
}
VESSEL_XMM_FN(cvtdq2ps) {
  put(d, opaque(_mm_cvtepi32_ps(opaque(si(s)))));
}
VESSEL_XMM_FN(cvtps2dq) {
  put(d, opaque(_mm_cvtps_epi32(opaque(ps(s)))));
}
VESSEL_XMM_FN(cvttps2dq) {
  put(d, opaque(_mm_cvttps_epi32(opaque(ps(s)))));
}
VESSEL_XMM_FN(cvtdq2pd) {
  put(d, opaque(_mm_cvtepi32_pd(opaque(si(s)))));
}
VESSEL_XMM_FN(cvtpd2dq) {
  put(d, opaque(_mm_cvtpd_epi32(opaque(pd(s)))));
}
VESSEL_XMM_FN(cvttpd2dq) {
  put(d, opaque(_mm_cvttpd_epi32(opaque(pd(s)))));
}

VESSEL_TO_GPR_FN(cvtss2si32) {
  return static_cast<uint32_t>(opaque_int(_mm_cvtss_si32(opaque(ps(s)))));
}
VESSEL_TO_GPR_FN(cvtss2si64) {
  return static_cast<uint64_t>(opaque_int(_mm_cvtss_si64(opaque(ps(s)))));
}
VESSEL_TO_GPR_FN(cvttss2si32) {
  return static_cast<uint32_t>(opaque_int(_mm_cvttss_si32(opaque(ps(s)))));
}
VESSEL_TO_GPR_FN(cvttss2si64) {
  return static_cast<uint64_t>(opaque_int(_mm_cvttss_si64(opaque(ps(s)))));
}
VESSEL_TO_GPR_FN(cvtsd2si32) {
  return static_cast<uint32_t>(opaque_int(_mm_cvtsd_si32(opaque(pd(s)))));
}
VESSEL_TO_GPR_FN(cvtsd2si64) {
  return static_cast<uint64_t>(opaque_int(_mm_cvtsd_si64(opaque(pd(s)))));
}
VESSEL_TO_GPR_FN(cvttsd2si32) {
  return static_cast<uint32_t>(opaque_int(_mm_cvttsd_si32(opaque(pd(s)))));
}
VESSEL_TO_GPR_FN(cvttsd2si64) {
  return static_cast<uint64_t>(opaque_int(_mm_cvttsd_si64(opaque(pd(s)))));
}

VESSEL_FROM_GPR_FN(cvtsi2ss32) {
  int32_t n = opaque_int(static_cast<int32_t>(v));
  put(d, opaque(_mm_cvtsi32_ss(opaque(ps(d)), n)));
}
VESSEL_FROM_GPR_FN(cvtsi2ss64) {
  int64_t n = opaque_int(static_cast<int64_t>(v));
  put(d, opaque(_mm_cvtsi64_ss(opaque(ps(d)), n)));
}
VESSEL_FROM_GPR_FN(cvtsi2sd32) {
  int32_t n = opaque_int(static_cast<int32_t>(v));
  put(d, opaque(_mm_cvtsi32_sd(opaque(pd(d)), n)));
}
VESSEL_FROM_GPR_FN(cvtsi2sd64) {
  int64_t n = opaque_int(static_cast<int64_t>(v));
  put(d, opaque(_mm_cvtsi64_sd(opaque(pd(d)), n)));
}

}  // namespace vessel::cpu

// SSE/SSE2 data movement between XMM registers, memory and general
// registers: the full, low and high moves, MOVD/MOVQ, the sign-mask
// extractions and PEXTRW/PINSRW.
#include "cpu/exec/sse.h"

namespace vessel::cpu {

VESSEL_XMM_FN(mov128) {
  d = s;
}
VESSEL_XMM_FN(mov_low32) {
  d.d[0] = s.d[0];
}
VESSEL_XMM_FN(mov_low64) {
  d.q[0] = s.q[0];
}
VESSEL_XMM_FN(movq) {
  d.q[0] = s.q[0];
  d.q[1] = 0;
}
VESSEL_XMM_FN(movhlps) {
  d.q[0] = s.q[1];
}
VESSEL_XMM_FN(mov_high64) {
  d.q[1] = s.q[0];
}

VESSEL_TO_GPR_FN(movd_to_gpr) {
  return s.q[0];
}
VESSEL_TO_GPR_FN(movmskps) {
  uint64_t m = 0;
  for (unsigned k = 0; k < 4; ++k) m |= uint64_t{s.d[k] >> 31} << k;
  return m;
}
VESSEL_TO_GPR_FN(movmskpd) {
  return (s.q[0] >> 63) | ((s.q[1] >> 63) << 1);
}
VESSEL_TO_GPR_FN(pmovmskb) {
  return static_cast<uint32_t>(_mm_movemask_epi8(si(s)));
}
VESSEL_TO_GPR_FN(pextrw) {
  return s.w[imm & 7];
}

VESSEL_FROM_GPR_FN(movd_from_gpr) {
  d.q[0] = v;
  d.q[1] = 0;
}
VESSEL_FROM_GPR_FN(pinsrw) {
  d.w[imm & 7] = static_cast<uint16_t>(v);
}

}  // namespace vessel::cpu

// SSE3 and SSSE3 operations for the software CPU (exec/sse3.cc and
// exec/ssse3.cc), in the shape of the SSE operations of exec/sse.h. The
// SSSE3 integer operations come in an XMM form and a 64-bit MMX form
// (mmx_...) that works on the low quadword only.
#pragma once

#include "cpu/exec/sse.h"

namespace vessel::cpu {

// exec/sse3.cc: floating point (run under the guest's MXCSR) and duplicates.
VESSEL_XMM_FN(addsubps);
VESSEL_XMM_FN(addsubpd);
VESSEL_XMM_FN(haddps);
VESSEL_XMM_FN(haddpd);
VESSEL_XMM_FN(hsubps);
VESSEL_XMM_FN(hsubpd);
VESSEL_XMM_FN(movddup);
VESSEL_XMM_FN(movshdup);
VESSEL_XMM_FN(movsldup);

// exec/ssse3.cc
#define VESSEL_SSSE3_FN(name) \
  VESSEL_XMM_FN(name);        \
  VESSEL_XMM_FN(mmx_##name)
VESSEL_SSSE3_FN(pshufb);
VESSEL_SSSE3_FN(phaddw);
VESSEL_SSSE3_FN(phaddd);
VESSEL_SSSE3_FN(phaddsw);
VESSEL_SSSE3_FN(phsubw);
VESSEL_SSSE3_FN(phsubd);
VESSEL_SSSE3_FN(phsubsw);
VESSEL_SSSE3_FN(pmaddubsw);
VESSEL_SSSE3_FN(pmulhrsw);
VESSEL_SSSE3_FN(psignb);
VESSEL_SSSE3_FN(psignw);
VESSEL_SSSE3_FN(psignd);
VESSEL_SSSE3_FN(pabsb);
VESSEL_SSSE3_FN(pabsw);
VESSEL_SSSE3_FN(pabsd);
VESSEL_SSSE3_FN(palignr);
#undef VESSEL_SSSE3_FN

}  // namespace vessel::cpu

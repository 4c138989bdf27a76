// SSE4.1 for the software CPU: the operations (exec/sse41_integer.cc,
// exec/sse41_float.cc) in the shapes of exec/sse.h, and the store of an
// extracted element to memory (exec/sse41_integer.cc).
#pragma once

#include "cpu/exec/sse.h"

namespace vessel::cpu {

// m (size2 bytes) = XmmToGprFn(xmm(r1), imm8): PEXTRB/W/D/Q and EXTRACTPS to memory.
extern const Handler kSse41ExtractToMem;

// exec/sse41_integer.cc
VESSEL_XMM_FN(pmovsxbw);
VESSEL_XMM_FN(pmovsxbd);
VESSEL_XMM_FN(pmovsxbq);
VESSEL_XMM_FN(pmovsxwd);
VESSEL_XMM_FN(pmovsxwq);
VESSEL_XMM_FN(pmovsxdq);
VESSEL_XMM_FN(pmovzxbw);
VESSEL_XMM_FN(pmovzxbd);
VESSEL_XMM_FN(pmovzxbq);
VESSEL_XMM_FN(pmovzxwd);
VESSEL_XMM_FN(pmovzxwq);
VESSEL_XMM_FN(pmovzxdq);
VESSEL_XMM_FN(pminsb);
VESSEL_XMM_FN(pminsd);
VESSEL_XMM_FN(pminuw);
VESSEL_XMM_FN(pminud);
VESSEL_XMM_FN(pmaxsb);
VESSEL_XMM_FN(pmaxsd);
VESSEL_XMM_FN(pmaxuw);
VESSEL_XMM_FN(pmaxud);
VESSEL_XMM_FN(pmulld);
VESSEL_XMM_FN(pmuldq);
VESSEL_XMM_FN(pcmpeqq);
VESSEL_XMM_FN(packusdw);
VESSEL_XMM_FN(ptest);
VESSEL_XMM_FN(pblendw);
VESSEL_XMM_FN(blendps);
VESSEL_XMM_FN(blendpd);
VESSEL_XMM_FN(pblendvb);  // mask: XMM0
VESSEL_XMM_FN(blendvps);
VESSEL_XMM_FN(blendvpd);
VESSEL_XMM_FN(mpsadbw);
VESSEL_XMM_FN(phminposuw);
VESSEL_XMM_FN(insertps);      // source xmm: element imm[7:6]
VESSEL_XMM_FN(insertps_mem);  // source m32
VESSEL_TO_GPR_FN(pextrb);
VESSEL_TO_GPR_FN(pextrd);
VESSEL_TO_GPR_FN(pextrq);
VESSEL_FROM_GPR_FN(pinsrb);
VESSEL_FROM_GPR_FN(pinsrd);
VESSEL_FROM_GPR_FN(pinsrq);

// exec/sse41_float.cc (under the guest's MXCSR)
VESSEL_XMM_FN(roundps);
VESSEL_XMM_FN(roundpd);
VESSEL_XMM_FN(roundss);
VESSEL_XMM_FN(roundsd);
VESSEL_XMM_FN(dpps);
VESSEL_XMM_FN(dppd);

}  // namespace vessel::cpu

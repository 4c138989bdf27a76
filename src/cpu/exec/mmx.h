// MMX for the software CPU: handlers for instructions on MM0-7 (the x87
// registers' low quadwords; exec/mmx.cc) and the operations whose 64-bit
// form differs from the XMM one. Records carry the operation as SSE records
// do (exec/sse.h): Insn::imm the function, imm2 the imm8, size2 the memory size.
#pragma once

#include "cpu/exec/sse.h"

namespace vessel::cpu {

Handler mmx_op(bool mem);                      // mm(r0) = XmmFn(mm(r0), mm(r1) or m)
Handler mmx_from_gpr(bool mem);                // mm(r0) = GprToXmmFn(mm(r0), GPR(r1) or m)
Handler mmx_to_gpr();                          // GPR(r0) = XmmToGprFn(mm(r1))
Handler mmx_store();                           // m (size2 bytes) = mm(r0)
Handler mmx_xmm_from_mm(bool fp);              // xmm(r0) = XmmFn(xmm(r0), mm(r1))
Handler mmx_mm_from_xmm(SseSrc src, bool fp);  // mm(r0) = XmmFn(mm(r0), xmm(r1) or m)
extern const Handler kMmxMaskmovq;             // mm(r0) bytes selected by mm(r1) to seg:rDI (base)
extern const Handler kMmxEmms;

VESSEL_XMM_FN(mmx_packsswb);
VESSEL_XMM_FN(mmx_packssdw);
VESSEL_XMM_FN(mmx_packuswb);
VESSEL_XMM_FN(mmx_punpckhbw);
VESSEL_XMM_FN(mmx_punpckhwd);
VESSEL_XMM_FN(mmx_punpckhdq);
VESSEL_TO_GPR_FN(mmx_pextrw);
VESSEL_FROM_GPR_FN(mmx_pinsrw);
VESSEL_XMM_FN(cvtpi2ps);
VESSEL_XMM_FN(cvtps2pi);
VESSEL_XMM_FN(cvttps2pi);

}  // namespace vessel::cpu

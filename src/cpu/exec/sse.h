// SSE and SSE2 for the software CPU: the handler shapes the decoder binds
// (exec/sse_exec.cc) and the per-instruction operations they run (the
// sse_*.cc files). An SSE record carries its operation as a function pointer
// in Insn::imm, the instruction's imm8 in Insn::imm2 and the size in bytes of
// its memory operand in Insn::size2. Floating-point operations run on the
// host's SSE unit under the guest's MXCSR rounding, DAZ and FTZ settings
// (all exceptions masked on the host); the flags they raise are merged into
// the guest's MXCSR and an unmasked one raises #XM (#UD with
// CR4.OSXMMEXCPT=0) without writing the destination.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "cpu/cpu.h"

namespace vessel::cpu {

// xmm(r0) = f(xmm(r0), source xmm or memory, imm8).
using XmmFn = void (*)(Cpu& c, Xmm& d, const Xmm& s, unsigned imm);
// GPR(r0) = f(source xmm(r1) or memory, imm8).
using XmmToGprFn = uint64_t (*)(Cpu& c, const Xmm& s, unsigned imm);
// xmm(r0) = f(xmm(r0), source GPR(r1) or memory (size2 bytes), imm8).
using GprToXmmFn = void (*)(Cpu& c, Xmm& d, uint64_t v, unsigned imm);

enum class SseSrc : uint8_t { kReg, kMem, kMemAligned };

// Handlers (exec/sse_exec.cc). `fp`: the operation runs under the guest's MXCSR.
Handler sse_xmm_op(SseSrc src, bool fp);
Handler sse_xmm_to_gpr(SseSrc src, bool fp);
Handler sse_gpr_to_xmm(bool mem, bool fp);
// Stores size2 bytes of xmm(r0), from byte `op` on (0 or 8), to memory.
Handler sse_store(bool aligned);
extern const Handler kSseMaskmovdqu;  // xmm(r0) bytes selected by xmm(r1) to seg:rDI (base)

// SSE is usable (CR0.EM=0, CR4.OSFXSR=1, CR0.TS=0); false with #UD or #NM pending.
inline bool sse_usable(Cpu& c) {
  if ((c.cr0 & cr0::kEm) || !(c.cr4 & cr4::kOsfxsr)) return c.fault(kUd);
  if (c.cr0 & cr0::kTs) return c.fault(kNm);
  return true;
}
// Reads `size` (1-8 or 16) bytes of the memory operand into the low bytes of
// *x (the rest zeroed); `aligned`: #GP(0) unless 16-byte aligned.
bool sse_read(Cpu& c, const Insn& i, unsigned size, bool aligned, Xmm* x);
// Writes the low `size` (1-8 or 16) bytes of `x` to the memory operand; a
// 16-byte store checks both halves before writing either.
bool sse_write(Cpu& c, const Insn& i, unsigned size, bool aligned, const Xmm& x);

// Set by an operation made of stages (DPPS/DPPD) that stopped at a stage
// with an unmasked exception: the flags it left raised are final.
inline thread_local bool sse_staged_fault = false;

// Runs `body` under the guest's rounding control, DAZ and FTZ with every
// exception masked, then merges the raised flags into the guest's MXCSR.
// False with #XM (or #UD) pending when a raised exception is unmasked; an
// unmasked invalid, denormal or divide-by-zero exception comes before the
// result, so the overflow, underflow and precision flags are not recorded
// (unless a staged operation settled its flags itself).
template <typename F>
bool sse_run_fp(Cpu& c, F&& body) {
  uint32_t host = _mm_getcsr();
  _mm_setcsr((c.fpu.mxcsr & 0xE040) | 0x1F80);
  body();
  uint32_t raised = _mm_getcsr() & 0x3F;
  _mm_setcsr(host);
  if (!raised) return true;
  uint32_t unmasked = raised & ~(c.fpu.mxcsr >> 7) & 0x3F;
  bool staged = sse_staged_fault;
  if (staged) sse_staged_fault = false;
  if ((unmasked & 0x7) && !staged) raised &= 0x7;
  c.fpu.mxcsr |= raised;
  if (unmasked) return c.fault((c.cr4 & cr4::kOsxmmexcpt) ? kXm : kUd);
  return true;
}

// Host vector views of a register, and a compiler barrier that keeps the
// host operation between the MXCSR switches.
inline __m128 ps(const Xmm& x) {
  return _mm_load_ps(x.f);
}
inline __m128d pd(const Xmm& x) {
  return _mm_load_pd(x.f64);
}
inline __m128i si(const Xmm& x) {
  return _mm_load_si128(reinterpret_cast<const __m128i*>(x.b));
}
inline void put(Xmm& x, __m128 v) {
  _mm_store_ps(x.f, v);
}
inline void put(Xmm& x, __m128d v) {
  _mm_store_pd(x.f64, v);
}
inline void put(Xmm& x, __m128i v) {
  _mm_store_si128(reinterpret_cast<__m128i*>(x.b), v);
}
template <typename V>
inline V opaque(V v) {
  asm volatile("" : "+x"(v));
  return v;
}
template <typename V>
inline V opaque_int(V v) {
  asm volatile("" : "+r"(v));
  return v;
}

// ---- Operations ------------------------------------------------------------
// Declarations (and, in the .cc files, definitions) of the operations.
#define VESSEL_XMM_FN(name)                                                                        \
  void sse_##name([[maybe_unused]] Cpu& c, [[maybe_unused]] Xmm& d, [[maybe_unused]] const Xmm& s, \
                  [[maybe_unused]] unsigned imm)
#define VESSEL_TO_GPR_FN(name)                                                \
  uint64_t sse_##name([[maybe_unused]] Cpu& c, [[maybe_unused]] const Xmm& s, \
                      [[maybe_unused]] unsigned imm)
#define VESSEL_FROM_GPR_FN(name)                                                                 \
  void sse_##name([[maybe_unused]] Cpu& c, [[maybe_unused]] Xmm& d, [[maybe_unused]] uint64_t v, \
                  [[maybe_unused]] unsigned imm)

// exec/sse_move.cc
VESSEL_XMM_FN(mov128);      // MOVAPS/MOVUPS/... and zero-extending loads
VESSEL_XMM_FN(mov_low32);   // MOVSS xmm, xmm
VESSEL_XMM_FN(mov_low64);   // MOVSD xmm, xmm; MOVLPS/MOVLPD xmm, m64
VESSEL_XMM_FN(movq);        // MOVQ xmm, xmm (upper cleared)
VESSEL_XMM_FN(movhlps);     // low quadword = source high quadword
VESSEL_XMM_FN(mov_high64);  // MOVHPS/MOVHPD xmm, m64; MOVLHPS
VESSEL_TO_GPR_FN(movd_to_gpr);
VESSEL_TO_GPR_FN(movmskps);
VESSEL_TO_GPR_FN(movmskpd);
VESSEL_TO_GPR_FN(pmovmskb);
VESSEL_TO_GPR_FN(pextrw);
VESSEL_FROM_GPR_FN(movd_from_gpr);
VESSEL_FROM_GPR_FN(pinsrw);

// exec/sse_float.cc
VESSEL_XMM_FN(addps);
VESSEL_XMM_FN(addss);
VESSEL_XMM_FN(addpd);
VESSEL_XMM_FN(addsd);
VESSEL_XMM_FN(subps);
VESSEL_XMM_FN(subss);
VESSEL_XMM_FN(subpd);
VESSEL_XMM_FN(subsd);
VESSEL_XMM_FN(mulps);
VESSEL_XMM_FN(mulss);
VESSEL_XMM_FN(mulpd);
VESSEL_XMM_FN(mulsd);
VESSEL_XMM_FN(divps);
VESSEL_XMM_FN(divss);
VESSEL_XMM_FN(divpd);
VESSEL_XMM_FN(divsd);
VESSEL_XMM_FN(minps);
VESSEL_XMM_FN(minss);
VESSEL_XMM_FN(minpd);
VESSEL_XMM_FN(minsd);
VESSEL_XMM_FN(maxps);
VESSEL_XMM_FN(maxss);
VESSEL_XMM_FN(maxpd);
VESSEL_XMM_FN(maxsd);
VESSEL_XMM_FN(sqrtps);
VESSEL_XMM_FN(sqrtss);
VESSEL_XMM_FN(sqrtpd);
VESSEL_XMM_FN(sqrtsd);
VESSEL_XMM_FN(rcpps);
VESSEL_XMM_FN(rcpss);
VESSEL_XMM_FN(rsqrtps);
VESSEL_XMM_FN(rsqrtss);
VESSEL_XMM_FN(cmpps);
VESSEL_XMM_FN(cmpss);
VESSEL_XMM_FN(cmppd);
VESSEL_XMM_FN(cmpsd);
VESSEL_XMM_FN(comiss);
VESSEL_XMM_FN(ucomiss);
VESSEL_XMM_FN(comisd);
VESSEL_XMM_FN(ucomisd);
VESSEL_XMM_FN(andps);
VESSEL_XMM_FN(andnps);
VESSEL_XMM_FN(orps);
VESSEL_XMM_FN(xorps);
VESSEL_XMM_FN(shufps);
VESSEL_XMM_FN(shufpd);
VESSEL_XMM_FN(unpcklps);
VESSEL_XMM_FN(unpckhps);
VESSEL_XMM_FN(unpcklpd);
VESSEL_XMM_FN(unpckhpd);

// exec/sse_convert.cc
VESSEL_XMM_FN(cvtps2pd);
VESSEL_XMM_FN(cvtpd2ps);
VESSEL_XMM_FN(cvtss2sd);
VESSEL_XMM_FN(cvtsd2ss);
VESSEL_XMM_FN(cvtdq2ps);
VESSEL_XMM_FN(cvtps2dq);
VESSEL_XMM_FN(cvttps2dq);
VESSEL_XMM_FN(cvtdq2pd);
VESSEL_XMM_FN(cvtpd2dq);
VESSEL_XMM_FN(cvttpd2dq);
VESSEL_TO_GPR_FN(cvtss2si32);
VESSEL_TO_GPR_FN(cvtss2si64);
VESSEL_TO_GPR_FN(cvttss2si32);
VESSEL_TO_GPR_FN(cvttss2si64);
VESSEL_TO_GPR_FN(cvtsd2si32);
VESSEL_TO_GPR_FN(cvtsd2si64);
VESSEL_TO_GPR_FN(cvttsd2si32);
VESSEL_TO_GPR_FN(cvttsd2si64);
VESSEL_FROM_GPR_FN(cvtsi2ss32);
VESSEL_FROM_GPR_FN(cvtsi2ss64);
VESSEL_FROM_GPR_FN(cvtsi2sd32);
VESSEL_FROM_GPR_FN(cvtsi2sd64);

// exec/sse_integer.cc
VESSEL_XMM_FN(paddb);
VESSEL_XMM_FN(paddw);
VESSEL_XMM_FN(paddd);
VESSEL_XMM_FN(paddq);
VESSEL_XMM_FN(psubb);
VESSEL_XMM_FN(psubw);
VESSEL_XMM_FN(psubd);
VESSEL_XMM_FN(psubq);
VESSEL_XMM_FN(paddsb);
VESSEL_XMM_FN(paddsw);
VESSEL_XMM_FN(paddusb);
VESSEL_XMM_FN(paddusw);
VESSEL_XMM_FN(psubsb);
VESSEL_XMM_FN(psubsw);
VESSEL_XMM_FN(psubusb);
VESSEL_XMM_FN(psubusw);
VESSEL_XMM_FN(pmullw);
VESSEL_XMM_FN(pmulhw);
VESSEL_XMM_FN(pmulhuw);
VESSEL_XMM_FN(pmuludq);
VESSEL_XMM_FN(pmaddwd);
VESSEL_XMM_FN(pavgb);
VESSEL_XMM_FN(pavgw);
VESSEL_XMM_FN(psadbw);
VESSEL_XMM_FN(pminub);
VESSEL_XMM_FN(pmaxub);
VESSEL_XMM_FN(pminsw);
VESSEL_XMM_FN(pmaxsw);
VESSEL_XMM_FN(pcmpeqb);
VESSEL_XMM_FN(pcmpeqw);
VESSEL_XMM_FN(pcmpeqd);
VESSEL_XMM_FN(pcmpgtb);
VESSEL_XMM_FN(pcmpgtw);
VESSEL_XMM_FN(pcmpgtd);
VESSEL_XMM_FN(packsswb);
VESSEL_XMM_FN(packssdw);
VESSEL_XMM_FN(packuswb);
VESSEL_XMM_FN(pand);
VESSEL_XMM_FN(pandn);
VESSEL_XMM_FN(por);
VESSEL_XMM_FN(pxor);
VESSEL_XMM_FN(punpcklbw);
VESSEL_XMM_FN(punpcklwd);
VESSEL_XMM_FN(punpckldq);
VESSEL_XMM_FN(punpcklqdq);
VESSEL_XMM_FN(punpckhbw);
VESSEL_XMM_FN(punpckhwd);
VESSEL_XMM_FN(punpckhdq);
VESSEL_XMM_FN(punpckhqdq);
VESSEL_XMM_FN(pshufd);
VESSEL_XMM_FN(pshuflw);
VESSEL_XMM_FN(pshufhw);
// Shifts by the count in the source's low quadword, and by imm8 (..._imm).
VESSEL_XMM_FN(psllw);
VESSEL_XMM_FN(pslld);
VESSEL_XMM_FN(psllq);
VESSEL_XMM_FN(psrlw);
VESSEL_XMM_FN(psrld);
VESSEL_XMM_FN(psrlq);
VESSEL_XMM_FN(psraw);
VESSEL_XMM_FN(psrad);
VESSEL_XMM_FN(psllw_imm);
VESSEL_XMM_FN(pslld_imm);
VESSEL_XMM_FN(psllq_imm);
VESSEL_XMM_FN(psrlw_imm);
VESSEL_XMM_FN(psrld_imm);
VESSEL_XMM_FN(psrlq_imm);
VESSEL_XMM_FN(psraw_imm);
VESSEL_XMM_FN(psrad_imm);
VESSEL_XMM_FN(pslldq);
VESSEL_XMM_FN(psrldq);

}  // namespace vessel::cpu

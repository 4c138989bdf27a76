// SSE/SSE2 packed and scalar floating point: arithmetic, square root and
// reciprocal estimates, compares (CMPxx predicates 0-7, COMISx/UCOMISx),
// bitwise logic, shuffles and unpacks. Each runs the host's instruction of
// the same semantics (exec/sse_exec.cc runs them under the guest's MXCSR).
#include "cpu/exec/sse.h"

namespace vessel::cpu {
namespace {

template <typename F>
void ps2(Xmm& d, const Xmm& s, F f) {
  put(d, opaque(f(opaque(ps(d)), opaque(ps(s)))));
}
template <typename F>
void pd2(Xmm& d, const Xmm& s, F f) {
  put(d, opaque(f(opaque(pd(d)), opaque(pd(s)))));
}

__m128 cmp_ps(__m128 a, __m128 b, unsigned pred) {
  switch (pred & 7) {
    case 0:
      return _mm_cmpeq_ps(a, b);
    case 1:
      return _mm_cmplt_ps(a, b);
    case 2:
      return _mm_cmple_ps(a, b);
    case 3:
      return _mm_cmpunord_ps(a, b);
    case 4:
      return _mm_cmpneq_ps(a, b);
    case 5:
      return _mm_cmpnlt_ps(a, b);
    case 6:
      return _mm_cmpnle_ps(a, b);
    default:
      return _mm_cmpord_ps(a, b);
  }
}
__m128 cmp_ss(__m128 a, __m128 b, unsigned pred) {
  switch (pred & 7) {
    case 0:
      return _mm_cmpeq_ss(a, b);
    case 1:
      return _mm_cmplt_ss(a, b);
    case 2:
      return _mm_cmple_ss(a, b);
    case 3:
      return _mm_cmpunord_ss(a, b);
    case 4:
      return _mm_cmpneq_ss(a, b);
    case 5:
      return _mm_cmpnlt_ss(a, b);
    case 6:
      return _mm_cmpnle_ss(a, b);
    default:
      return _mm_cmpord_ss(a, b);
  }
}
__m128d cmp_pd(__m128d a, __m128d b, unsigned pred) {
  switch (pred & 7) {
    case 0:
      return _mm_cmpeq_pd(a, b);
    case 1:
      return _mm_cmplt_pd(a, b);
    case 2:
      return _mm_cmple_pd(a, b);
    case 3:
      return _mm_cmpunord_pd(a, b);
    case 4:
      return _mm_cmpneq_pd(a, b);
    case 5:
      return _mm_cmpnlt_pd(a, b);
    case 6:
      return _mm_cmpnle_pd(a, b);
    default:
      return _mm_cmpord_pd(a, b);
  }
}
__m128d cmp_sd(__m128d a, __m128d b, unsigned pred) {
  switch (pred & 7) {
    case 0:
      return _mm_cmpeq_sd(a, b);
    case 1:
      return _mm_cmplt_sd(a, b);
    case 2:
      return _mm_cmple_sd(a, b);
    case 3:
      return _mm_cmpunord_sd(a, b);
    case 4:
      return _mm_cmpneq_sd(a, b);
    case 5:
      return _mm_cmpnlt_sd(a, b);
    case 6:
      return _mm_cmpnle_sd(a, b);
    default:
      return _mm_cmpord_sd(a, b);
  }
}

// ZF, PF, CF from the host's compare; OF, SF, AF cleared.
void put_compare_flags(Cpu& c, bool z, bool p, bool cf) {
  c.lflags.put((z ? rflags::kZf : 0) | (p ? rflags::kPf : 0) | (cf ? rflags::kCf : 0));
}

}  // namespace

// The arithmetic runs the very instruction on the host (in inline assembly:
// an intrinsic lets the compiler swap the operands of ADD/MUL, which changes
// the NaN a two-NaN operation returns). The register-to-register form of
// each has exactly the guest instruction's semantics.
#define VESSEL_ASM2(name)                                 \
  VESSEL_XMM_FN(name) {                                   \
    __m128i a = si(d);                                    \
    asm volatile(#name " %1, %0" : "+x"(a) : "x"(si(s))); \
    put(d, a);                                            \
  }
#define VESSEL_PS2(name, intrinsic)                                \
  VESSEL_XMM_FN(name) {                                            \
    ps2(d, s, [](__m128 a, __m128 b) { return intrinsic(a, b); }); \
  }
#define VESSEL_PD2(name, intrinsic)                                  \
  VESSEL_XMM_FN(name) {                                              \
    pd2(d, s, [](__m128d a, __m128d b) { return intrinsic(a, b); }); \
  }

VESSEL_ASM2(addps)
VESSEL_ASM2(addss)
VESSEL_ASM2(addpd)
VESSEL_ASM2(addsd)
VESSEL_ASM2(subps)
VESSEL_ASM2(subss)
VESSEL_ASM2(subpd)
VESSEL_ASM2(subsd)
VESSEL_ASM2(mulps)
VESSEL_ASM2(mulss)
VESSEL_ASM2(mulpd)
VESSEL_ASM2(mulsd)
VESSEL_ASM2(divps)
VESSEL_ASM2(divss)
VESSEL_ASM2(divpd)
VESSEL_ASM2(divsd)
VESSEL_ASM2(minps)
VESSEL_ASM2(minss)
VESSEL_ASM2(minpd)
VESSEL_ASM2(minsd)
VESSEL_ASM2(maxps)
VESSEL_ASM2(maxss)
VESSEL_ASM2(maxpd)
VESSEL_ASM2(maxsd)
VESSEL_PS2(andps, _mm_and_ps)
VESSEL_PS2(andnps, _mm_andnot_ps)
VESSEL_PS2(orps, _mm_or_ps)
VESSEL_PS2(xorps, _mm_xor_ps)
VESSEL_PS2(unpcklps, _mm_unpacklo_ps)
VESSEL_PS2(unpckhps, _mm_unpackhi_ps)
VESSEL_PD2(unpcklpd, _mm_unpacklo_pd)
VESSEL_PD2(unpckhpd, _mm_unpackhi_pd)

VESSEL_ASM2(sqrtps)
VESSEL_ASM2(sqrtss)
VESSEL_ASM2(sqrtpd)
VESSEL_ASM2(sqrtsd)
VESSEL_ASM2(rcpps)
VESSEL_ASM2(rcpss)
VESSEL_ASM2(rsqrtps)
VESSEL_ASM2(rsqrtss)

VESSEL_XMM_FN(cmpps) {
  ps2(d, s, [imm](__m128 a, __m128 b) { return cmp_ps(a, b, imm); });
}
VESSEL_XMM_FN(cmpss) {
  ps2(d, s, [imm](__m128 a, __m128 b) { return cmp_ss(a, b, imm); });
}
VESSEL_XMM_FN(cmppd) {
  pd2(d, s, [imm](__m128d a, __m128d b) { return cmp_pd(a, b, imm); });
}
VESSEL_XMM_FN(cmpsd) {
  pd2(d, s, [imm](__m128d a, __m128d b) { return cmp_sd(a, b, imm); });
}

VESSEL_XMM_FN(comiss) {
  bool z, p, cf;
  asm volatile("comiss %[b], %[a]"
               : "=@ccz"(z), "=@ccp"(p), "=@ccc"(cf)
               : [a] "x"(ps(d)), [b] "x"(ps(s)));
  put_compare_flags(c, z, p, cf);
}
VESSEL_XMM_FN(ucomiss) {
  bool z, p, cf;
  asm volatile("ucomiss %[b], %[a]"
               : "=@ccz"(z), "=@ccp"(p), "=@ccc"(cf)
               : [a] "x"(ps(d)), [b] "x"(ps(s)));
  put_compare_flags(c, z, p, cf);
}
VESSEL_XMM_FN(comisd) {
  bool z, p, cf;
  asm volatile("comisd %[b], %[a]"
               : "=@ccz"(z), "=@ccp"(p), "=@ccc"(cf)
               : [a] "x"(pd(d)), [b] "x"(pd(s)));
  put_compare_flags(c, z, p, cf);
}
VESSEL_XMM_FN(ucomisd) {
  bool z, p, cf;
  asm volatile("ucomisd %[b], %[a]"
               : "=@ccz"(z), "=@ccp"(p), "=@ccc"(cf)
               : [a] "x"(pd(d)), [b] "x"(pd(s)));
  put_compare_flags(c, z, p, cf);
}

VESSEL_XMM_FN(shufps) {
  Xmm r;
  r.d[0] = d.d[imm & 3];
  r.d[1] = d.d[(imm >> 2) & 3];
  r.d[2] = s.d[(imm >> 4) & 3];
  r.d[3] = s.d[(imm >> 6) & 3];
  d = r;
}
VESSEL_XMM_FN(shufpd) {
  uint64_t lo = d.q[imm & 1], hi = s.q[(imm >> 1) & 1];
  d.q[0] = lo;
  d.q[1] = hi;
}

}  // namespace vessel::cpu

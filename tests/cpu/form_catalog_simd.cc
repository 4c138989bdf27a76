// The MMX, SSE, SSE2, SSE3, SSSE3, SSE4.1 and SSE4.2 forms of the catalogue
// (legacy encodings): register, memory and store forms, imm8 forms, the GPR
// forms (conversions, MOVD/MOVQ, extracts/inserts, CRC32), the MMX forms of
// the integer instructions (MMX, SSE, SSE2 and SSSE3 on MM registers, the
// MM<->XMM moves and conversions, EMMS) and LDMXCSR/STMXCSR. The harness
// compares MM0-7 and MXCSR. Every form gets Hint::kSimd (state_gen_simd.cc).
#include <fmt/format.h>

#include <string_view>

#include "form_catalog.h"

namespace vessel::difftest {
namespace {

enum class Set : uint8_t { kSse, kSse2, kSse3, kSsse3, kSse41, kSse42 };

// Shapes, one word per form: x = an XMM register (A, B in turn), q = an MMX
// register (A, B in turn), m = memory of `mem` bytes, b = imm8, 1/2/4/8 = a
// GPR of that many bytes (A, B in turn).
struct SimdSpec {
  ZydisMnemonic mnemonic;
  const char* shapes;
  uint8_t mem;
  Set set;
};

#define S(M, shapes, mem, set) \
  { ZYDIS_MNEMONIC_##M, shapes, mem, Set::k##set }
constexpr const char* kOp = "xx xm";
constexpr const char* kOpImm = "xxb xmb";
constexpr const char* kMove = "xx xm mx";
constexpr const char* kMmx = "qq qm";

const SimdSpec kSimdSpecs[] = {
    // SSE
    S(ADDPS, kOp, 16, Sse),
    S(SUBPS, kOp, 16, Sse),
    S(MULPS, kOp, 16, Sse),
    S(DIVPS, kOp, 16, Sse),
    S(MINPS, kOp, 16, Sse),
    S(MAXPS, kOp, 16, Sse),
    S(SQRTPS, kOp, 16, Sse),
    S(RCPPS, kOp, 16, Sse),
    S(RSQRTPS, kOp, 16, Sse),
    S(ANDPS, kOp, 16, Sse),
    S(ANDNPS, kOp, 16, Sse),
    S(ORPS, kOp, 16, Sse),
    S(XORPS, kOp, 16, Sse),
    S(UNPCKLPS, kOp, 16, Sse),
    S(UNPCKHPS, kOp, 16, Sse),
    S(ADDSS, kOp, 4, Sse),
    S(SUBSS, kOp, 4, Sse),
    S(MULSS, kOp, 4, Sse),
    S(DIVSS, kOp, 4, Sse),
    S(MINSS, kOp, 4, Sse),
    S(MAXSS, kOp, 4, Sse),
    S(SQRTSS, kOp, 4, Sse),
    S(RCPSS, kOp, 4, Sse),
    S(RSQRTSS, kOp, 4, Sse),
    S(COMISS, kOp, 4, Sse),
    S(UCOMISS, kOp, 4, Sse),
    S(CMPPS, kOpImm, 16, Sse),
    S(CMPSS, kOpImm, 4, Sse),
    S(SHUFPS, kOpImm, 16, Sse),
    S(MOVAPS, kMove, 16, Sse),
    S(MOVUPS, kMove, 16, Sse),
    S(MOVSS, kMove, 4, Sse),
    S(MOVLPS, "xm mx", 8, Sse),
    S(MOVHPS, "xm mx", 8, Sse),
    S(MOVHLPS, "xx", 0, Sse),
    S(MOVLHPS, "xx", 0, Sse),
    S(MOVNTPS, "mx", 16, Sse),
    S(MOVMSKPS, "4x", 0, Sse),
    S(CVTSI2SS, "x4 x8 xm", 4, Sse),
    S(CVTSI2SS, "xm", 8, Sse),
    S(CVTSS2SI, "4x 8x 4m 8m", 4, Sse),
    S(CVTTSS2SI, "4x 8x 4m 8m", 4, Sse),
    // SSE2
    S(ADDPD, kOp, 16, Sse2),
    S(SUBPD, kOp, 16, Sse2),
    S(MULPD, kOp, 16, Sse2),
    S(DIVPD, kOp, 16, Sse2),
    S(MINPD, kOp, 16, Sse2),
    S(MAXPD, kOp, 16, Sse2),
    S(SQRTPD, kOp, 16, Sse2),
    S(ANDPD, kOp, 16, Sse2),
    S(ANDNPD, kOp, 16, Sse2),
    S(ORPD, kOp, 16, Sse2),
    S(XORPD, kOp, 16, Sse2),
    S(UNPCKLPD, kOp, 16, Sse2),
    S(UNPCKHPD, kOp, 16, Sse2),
    S(ADDSD, kOp, 8, Sse2),
    S(SUBSD, kOp, 8, Sse2),
    S(MULSD, kOp, 8, Sse2),
    S(DIVSD, kOp, 8, Sse2),
    S(MINSD, kOp, 8, Sse2),
    S(MAXSD, kOp, 8, Sse2),
    S(SQRTSD, kOp, 8, Sse2),
    S(COMISD, kOp, 8, Sse2),
    S(UCOMISD, kOp, 8, Sse2),
    S(CMPPD, kOpImm, 16, Sse2),
    S(CMPSD, kOpImm, 8, Sse2),
    S(SHUFPD, kOpImm, 16, Sse2),
    S(CVTPD2PS, kOp, 16, Sse2),
    S(CVTDQ2PS, kOp, 16, Sse2),
    S(CVTPS2DQ, kOp, 16, Sse2),
    S(CVTTPS2DQ, kOp, 16, Sse2),
    S(CVTPD2DQ, kOp, 16, Sse2),
    S(CVTTPD2DQ, kOp, 16, Sse2),
    S(CVTSD2SS, kOp, 8, Sse2),
    S(CVTPS2PD, kOp, 8, Sse2),
    S(CVTDQ2PD, kOp, 8, Sse2),
    S(CVTSS2SD, kOp, 4, Sse2),
    S(CVTSI2SD, "x4 x8 xm", 4, Sse2),
    S(CVTSI2SD, "xm", 8, Sse2),
    S(CVTSD2SI, "4x 8x 4m 8m", 8, Sse2),
    S(CVTTSD2SI, "4x 8x 4m 8m", 8, Sse2),
    S(PADDB, kOp, 16, Sse2),
    S(PADDW, kOp, 16, Sse2),
    S(PADDD, kOp, 16, Sse2),
    S(PADDQ, kOp, 16, Sse2),
    S(PSUBB, kOp, 16, Sse2),
    S(PSUBW, kOp, 16, Sse2),
    S(PSUBD, kOp, 16, Sse2),
    S(PSUBQ, kOp, 16, Sse2),
    S(PADDSB, kOp, 16, Sse2),
    S(PADDSW, kOp, 16, Sse2),
    S(PADDUSB, kOp, 16, Sse2),
    S(PADDUSW, kOp, 16, Sse2),
    S(PSUBSB, kOp, 16, Sse2),
    S(PSUBSW, kOp, 16, Sse2),
    S(PSUBUSB, kOp, 16, Sse2),
    S(PSUBUSW, kOp, 16, Sse2),
    S(PMULLW, kOp, 16, Sse2),
    S(PMULHW, kOp, 16, Sse2),
    S(PMULHUW, kOp, 16, Sse2),
    S(PMULUDQ, kOp, 16, Sse2),
    S(PMADDWD, kOp, 16, Sse2),
    S(PAVGB, kOp, 16, Sse2),
    S(PAVGW, kOp, 16, Sse2),
    S(PSADBW, kOp, 16, Sse2),
    S(PMINUB, kOp, 16, Sse2),
    S(PMAXUB, kOp, 16, Sse2),
    S(PMINSW, kOp, 16, Sse2),
    S(PMAXSW, kOp, 16, Sse2),
    S(PCMPEQB, kOp, 16, Sse2),
    S(PCMPEQW, kOp, 16, Sse2),
    S(PCMPEQD, kOp, 16, Sse2),
    S(PCMPGTB, kOp, 16, Sse2),
    S(PCMPGTW, kOp, 16, Sse2),
    S(PCMPGTD, kOp, 16, Sse2),
    S(PACKSSWB, kOp, 16, Sse2),
    S(PACKSSDW, kOp, 16, Sse2),
    S(PACKUSWB, kOp, 16, Sse2),
    S(PAND, kOp, 16, Sse2),
    S(PANDN, kOp, 16, Sse2),
    S(POR, kOp, 16, Sse2),
    S(PXOR, kOp, 16, Sse2),
    S(PUNPCKLBW, kOp, 16, Sse2),
    S(PUNPCKLWD, kOp, 16, Sse2),
    S(PUNPCKLDQ, kOp, 16, Sse2),
    S(PUNPCKLQDQ, kOp, 16, Sse2),
    S(PUNPCKHBW, kOp, 16, Sse2),
    S(PUNPCKHWD, kOp, 16, Sse2),
    S(PUNPCKHDQ, kOp, 16, Sse2),
    S(PUNPCKHQDQ, kOp, 16, Sse2),
    S(PSLLW, "xx xm xb", 16, Sse2),
    S(PSLLD, "xx xm xb", 16, Sse2),
    S(PSLLQ, "xx xm xb", 16, Sse2),
    S(PSRLW, "xx xm xb", 16, Sse2),
    S(PSRLD, "xx xm xb", 16, Sse2),
    S(PSRLQ, "xx xm xb", 16, Sse2),
    S(PSRAW, "xx xm xb", 16, Sse2),
    S(PSRAD, "xx xm xb", 16, Sse2),
    S(PSLLDQ, "xb", 0, Sse2),
    S(PSRLDQ, "xb", 0, Sse2),
    S(PSHUFD, kOpImm, 16, Sse2),
    S(PSHUFLW, kOpImm, 16, Sse2),
    S(PSHUFHW, kOpImm, 16, Sse2),
    S(MOVAPD, kMove, 16, Sse2),
    S(MOVUPD, kMove, 16, Sse2),
    S(MOVDQA, kMove, 16, Sse2),
    S(MOVDQU, kMove, 16, Sse2),
    S(MOVSD, kMove, 8, Sse2),
    S(MOVLPD, "xm mx", 8, Sse2),
    S(MOVHPD, "xm mx", 8, Sse2),
    S(MOVNTPD, "mx", 16, Sse2),
    S(MOVNTDQ, "mx", 16, Sse2),
    S(MOVMSKPD, "4x", 0, Sse2),
    S(PMOVMSKB, "4x", 0, Sse2),
    S(MOVD, "x4 4x xm mx", 4, Sse2),
    S(MOVQ, "x8 8x xx xm mx", 8, Sse2),
    S(MASKMOVDQU, "xx", 0, Sse2),
    S(MOVNTI, "m4", 4, Sse2),
    S(MOVNTI, "m8", 8, Sse2),
    S(PEXTRW, "4xb", 0, Sse2),
    S(PINSRW, "x4b xmb", 2, Sse2),
    // SSE3
    S(ADDSUBPS, kOp, 16, Sse3),
    S(ADDSUBPD, kOp, 16, Sse3),
    S(HADDPS, kOp, 16, Sse3),
    S(HADDPD, kOp, 16, Sse3),
    S(HSUBPS, kOp, 16, Sse3),
    S(HSUBPD, kOp, 16, Sse3),
    S(MOVSHDUP, kOp, 16, Sse3),
    S(MOVSLDUP, kOp, 16, Sse3),
    S(MOVDDUP, kOp, 8, Sse3),
    S(LDDQU, "xm", 16, Sse3),
    // SSSE3
    S(PSHUFB, kOp, 16, Ssse3),
    S(PHADDW, kOp, 16, Ssse3),
    S(PHADDD, kOp, 16, Ssse3),
    S(PHADDSW, kOp, 16, Ssse3),
    S(PHSUBW, kOp, 16, Ssse3),
    S(PHSUBD, kOp, 16, Ssse3),
    S(PHSUBSW, kOp, 16, Ssse3),
    S(PMADDUBSW, kOp, 16, Ssse3),
    S(PMULHRSW, kOp, 16, Ssse3),
    S(PSIGNB, kOp, 16, Ssse3),
    S(PSIGNW, kOp, 16, Ssse3),
    S(PSIGND, kOp, 16, Ssse3),
    S(PABSB, kOp, 16, Ssse3),
    S(PABSW, kOp, 16, Ssse3),
    S(PABSD, kOp, 16, Ssse3),
    S(PALIGNR, kOpImm, 16, Ssse3),
    // SSE4.1
    S(PMOVSXBW, kOp, 8, Sse41),
    S(PMOVSXBD, kOp, 4, Sse41),
    S(PMOVSXBQ, kOp, 2, Sse41),
    S(PMOVSXWD, kOp, 8, Sse41),
    S(PMOVSXWQ, kOp, 4, Sse41),
    S(PMOVSXDQ, kOp, 8, Sse41),
    S(PMOVZXBW, kOp, 8, Sse41),
    S(PMOVZXBD, kOp, 4, Sse41),
    S(PMOVZXBQ, kOp, 2, Sse41),
    S(PMOVZXWD, kOp, 8, Sse41),
    S(PMOVZXWQ, kOp, 4, Sse41),
    S(PMOVZXDQ, kOp, 8, Sse41),
    S(PMINSB, kOp, 16, Sse41),
    S(PMINSD, kOp, 16, Sse41),
    S(PMINUW, kOp, 16, Sse41),
    S(PMINUD, kOp, 16, Sse41),
    S(PMAXSB, kOp, 16, Sse41),
    S(PMAXSD, kOp, 16, Sse41),
    S(PMAXUW, kOp, 16, Sse41),
    S(PMAXUD, kOp, 16, Sse41),
    S(PMULLD, kOp, 16, Sse41),
    S(PMULDQ, kOp, 16, Sse41),
    S(PCMPEQQ, kOp, 16, Sse41),
    S(PACKUSDW, kOp, 16, Sse41),
    S(PTEST, kOp, 16, Sse41),
    S(PHMINPOSUW, kOp, 16, Sse41),
    S(PBLENDVB, kOp, 16, Sse41),
    S(BLENDVPS, kOp, 16, Sse41),
    S(BLENDVPD, kOp, 16, Sse41),
    S(PBLENDW, kOpImm, 16, Sse41),
    S(BLENDPS, kOpImm, 16, Sse41),
    S(BLENDPD, kOpImm, 16, Sse41),
    S(MPSADBW, kOpImm, 16, Sse41),
    S(ROUNDPS, kOpImm, 16, Sse41),
    S(ROUNDPD, kOpImm, 16, Sse41),
    S(ROUNDSS, kOpImm, 4, Sse41),
    S(ROUNDSD, kOpImm, 8, Sse41),
    S(DPPS, kOpImm, 16, Sse41),
    S(DPPD, kOpImm, 16, Sse41),
    S(INSERTPS, kOpImm, 4, Sse41),
    S(MOVNTDQA, "xm", 16, Sse41),
    S(PEXTRB, "4xb mxb", 1, Sse41),
    S(PEXTRW, "mxb", 2, Sse41),
    S(PEXTRD, "4xb mxb", 4, Sse41),
    S(PEXTRQ, "8xb mxb", 8, Sse41),
    S(EXTRACTPS, "4xb mxb", 4, Sse41),
    S(PINSRB, "x4b xmb", 1, Sse41),
    S(PINSRD, "x4b xmb", 4, Sse41),
    S(PINSRQ, "x8b xmb", 8, Sse41),
    // SSE4.2
    S(PCMPGTQ, kOp, 16, Sse42),
    S(PCMPESTRI, kOpImm, 16, Sse42),
    S(PCMPESTRM, kOpImm, 16, Sse42),
    S(PCMPISTRI, kOpImm, 16, Sse42),
    S(PCMPISTRM, kOpImm, 16, Sse42),
    S(CRC32, "41 42 44 4m", 1, Sse42),
    S(CRC32, "4m", 2, Sse42),
    S(CRC32, "4m", 4, Sse42),
    S(CRC32, "81 88 8m", 1, Sse42),
    S(CRC32, "8m", 8, Sse42),
    // MXCSR
    S(LDMXCSR, "m", 4, Sse),
    S(STMXCSR, "m", 4, Sse),
    // MMX forms (MMX, and the SSE/SSE2/SSSE3 integer instructions on MM registers)
    S(PADDB, kMmx, 8, Sse),
    S(PADDW, kMmx, 8, Sse),
    S(PADDD, kMmx, 8, Sse),
    S(PADDQ, kMmx, 8, Sse2),
    S(PSUBB, kMmx, 8, Sse),
    S(PSUBW, kMmx, 8, Sse),
    S(PSUBD, kMmx, 8, Sse),
    S(PSUBQ, kMmx, 8, Sse2),
    S(PADDSB, kMmx, 8, Sse),
    S(PADDSW, kMmx, 8, Sse),
    S(PADDUSB, kMmx, 8, Sse),
    S(PADDUSW, kMmx, 8, Sse),
    S(PSUBSB, kMmx, 8, Sse),
    S(PSUBSW, kMmx, 8, Sse),
    S(PSUBUSB, kMmx, 8, Sse),
    S(PSUBUSW, kMmx, 8, Sse),
    S(PMULLW, kMmx, 8, Sse),
    S(PMULHW, kMmx, 8, Sse),
    S(PMULHUW, kMmx, 8, Sse),
    S(PMULUDQ, kMmx, 8, Sse2),
    S(PMADDWD, kMmx, 8, Sse),
    S(PAVGB, kMmx, 8, Sse),
    S(PAVGW, kMmx, 8, Sse),
    S(PSADBW, kMmx, 8, Sse),
    S(PMINUB, kMmx, 8, Sse),
    S(PMAXUB, kMmx, 8, Sse),
    S(PMINSW, kMmx, 8, Sse),
    S(PMAXSW, kMmx, 8, Sse),
    S(PCMPEQB, kMmx, 8, Sse),
    S(PCMPEQW, kMmx, 8, Sse),
    S(PCMPEQD, kMmx, 8, Sse),
    S(PCMPGTB, kMmx, 8, Sse),
    S(PCMPGTW, kMmx, 8, Sse),
    S(PCMPGTD, kMmx, 8, Sse),
    S(PACKSSWB, kMmx, 8, Sse),
    S(PACKSSDW, kMmx, 8, Sse),
    S(PACKUSWB, kMmx, 8, Sse),
    S(PAND, kMmx, 8, Sse),
    S(PANDN, kMmx, 8, Sse),
    S(POR, kMmx, 8, Sse),
    S(PXOR, kMmx, 8, Sse),
    S(PUNPCKLBW, kMmx, 4, Sse),
    S(PUNPCKLWD, kMmx, 4, Sse),
    S(PUNPCKLDQ, kMmx, 4, Sse),
    S(PUNPCKHBW, kMmx, 8, Sse),
    S(PUNPCKHWD, kMmx, 8, Sse),
    S(PUNPCKHDQ, kMmx, 8, Sse),
    S(PSLLW, "qq qm qb", 8, Sse),
    S(PSLLD, "qq qm qb", 8, Sse),
    S(PSLLQ, "qq qm qb", 8, Sse),
    S(PSRLW, "qq qm qb", 8, Sse),
    S(PSRLD, "qq qm qb", 8, Sse),
    S(PSRLQ, "qq qm qb", 8, Sse),
    S(PSRAW, "qq qm qb", 8, Sse),
    S(PSRAD, "qq qm qb", 8, Sse),
    S(PSHUFW, "qqb qmb", 8, Sse),
    S(PEXTRW, "4qb", 0, Sse),
    S(PINSRW, "q4b qmb", 2, Sse),
    S(PMOVMSKB, "4q", 0, Sse),
    S(MOVD, "q4 4q qm mq", 4, Sse),
    S(MOVQ, "q8 8q qq qm mq", 8, Sse),
    S(MOVNTQ, "mq", 8, Sse),
    S(MASKMOVQ, "qq", 0, Sse),
    S(MOVQ2DQ, "xq", 0, Sse2),
    S(MOVDQ2Q, "qx", 0, Sse2),
    S(CVTPI2PS, "xq xm", 8, Sse),
    S(CVTPS2PI, "qx qm", 8, Sse),
    S(CVTTPS2PI, "qx qm", 8, Sse),
    S(CVTPI2PD, "xq xm", 8, Sse2),
    S(CVTPD2PI, "qx qm", 16, Sse2),
    S(CVTTPD2PI, "qx qm", 16, Sse2),
    S(PSHUFB, kMmx, 8, Ssse3),
    S(PHADDW, kMmx, 8, Ssse3),
    S(PHADDD, kMmx, 8, Ssse3),
    S(PHADDSW, kMmx, 8, Ssse3),
    S(PHSUBW, kMmx, 8, Ssse3),
    S(PHSUBD, kMmx, 8, Ssse3),
    S(PHSUBSW, kMmx, 8, Ssse3),
    S(PMADDUBSW, kMmx, 8, Ssse3),
    S(PMULHRSW, kMmx, 8, Ssse3),
    S(PSIGNB, kMmx, 8, Ssse3),
    S(PSIGNW, kMmx, 8, Ssse3),
    S(PSIGND, kMmx, 8, Ssse3),
    S(PABSB, kMmx, 8, Ssse3),
    S(PABSW, kMmx, 8, Ssse3),
    S(PABSD, kMmx, 8, Ssse3),
    S(PALIGNR, "qqb qmb", 8, Ssse3),
};
#undef S

bool host_has(const HostFeatures& h, Set s) {
  switch (s) {
    case Set::kSse:
    case Set::kSse2:
      return true;  // x86-64 baseline
    case Set::kSse3:
      return h.sse3;
    case Set::kSsse3:
      return h.ssse3;
    case Set::kSse41:
      return h.sse41;
    case Set::kSse42:
      return h.sse42;
  }
  return false;
}

// Whether the instruction also reads or writes XMM0 implicitly.
bool uses_xmm0(ZydisMnemonic m) {
  switch (m) {
    case ZYDIS_MNEMONIC_PBLENDVB:
    case ZYDIS_MNEMONIC_BLENDVPS:
    case ZYDIS_MNEMONIC_BLENDVPD:
    case ZYDIS_MNEMONIC_PCMPESTRM:
    case ZYDIS_MNEMONIC_PCMPISTRM:
      return true;
    default:
      return false;
  }
}

// Register assignments: XMM A, B; GPR A, B; the memory base and
// displacement; MM A, B.
struct SimdVariant {
  int xa, xb, ga, gb, mem_base;
  int64_t mem_disp;
  int ma, mb;
};
constexpr SimdVariant kSimdVariants[] = {
    {1, 2, kRax, kRcx, kRbx, 0, 1, 2},     // legacy registers
    {9, 14, kR9, kR10, kR13, 0x10, 6, 7},  // REX registers (REX.B/R ignored for MM)
    {0, 0, kRdx, kRdx, kRbx, 0, 0, 0},     // the same register twice (two-register forms)
    {0, 5, kRax, kRcx, kRbx, 0, 0, 5},     // XMM0 as the destination (implicit-XMM0 forms)
};

class SimdBuilder {
 public:
  explicit SimdBuilder(Catalogue& cat) : cat_(cat) {}

  void add(const SimdSpec& s, std::string_view shape, int variant_index) {
    const SimdVariant& v = kSimdVariants[variant_index];
    Form f;
    f.mnemonic = s.mnemonic;
    f.size = 128;
    f.rule = sdm_flag_rule(s.mnemonic);
    f.hint = Hint::kSimd;
    ZydisEncoderRequest& req = f.request;
    req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    req.mnemonic = s.mnemonic;
    const int xmms[2] = {v.xa, v.xb}, gprs[2] = {v.ga, v.gb}, mms[2] = {v.ma, v.mb};
    int next_xmm = 0, next_gpr = 0, next_mm = 0;
    std::string desc;
    for (size_t i = 0; i < shape.size(); ++i) {
      char c = shape[i];
      ZydisEncoderOperand& op = req.operands[req.operand_count++];
      if (!desc.empty()) desc += ',';
      switch (c) {
        case 'x':
          op.type = ZYDIS_OPERAND_TYPE_REGISTER;
          op.reg.value = static_cast<ZydisRegister>(ZYDIS_REGISTER_XMM0 + xmms[next_xmm++]);
          desc += "xmm";
          break;
        case 'q':
          op.type = ZYDIS_OPERAND_TYPE_REGISTER;
          op.reg.value = static_cast<ZydisRegister>(ZYDIS_REGISTER_MM0 + mms[next_mm++]);
          desc += "mm";
          break;
        case 'm':
          op.type = ZYDIS_OPERAND_TYPE_MEMORY;
          op.mem.base = gpr_register(v.mem_base, 64);
          op.mem.displacement = v.mem_disp;
          op.mem.size = s.mem;
          f.mem_gpr = v.mem_base;
          f.mem_disp = v.mem_disp;
          f.pointer_gprs |= static_cast<uint16_t>(1u << v.mem_base);
          desc += fmt::format("m{}", s.mem * 8);
          break;
        case 'b':
          op.type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
          f.imm_index = static_cast<int>(i);
          f.imm_bits = 8;
          desc += "imm8";
          break;
        default: {  // '1', '2', '4', '8': a GPR
          int bytes = c - '0';
          op.type = ZYDIS_OPERAND_TYPE_REGISTER;
          op.reg.value = gpr_register(gprs[next_gpr++], bytes * 8);
          desc += fmt::format("r{}", bytes * 8);
          break;
        }
      }
    }
    if (variant_index == 2 && next_xmm < 2 && next_gpr < 2 && next_mm < 2)
      return;  // nothing to share
    if (variant_index == 3 && (!uses_xmm0(s.mnemonic) || next_xmm == 0)) return;
    if (s.mnemonic == ZYDIS_MNEMONIC_MASKMOVDQU || s.mnemonic == ZYDIS_MNEMONIC_MASKMOVQ)
      f.pointer_gprs |= 1u << kRdi;
    f.name = fmt::format("{} {} v{}", ZydisMnemonicGetString(s.mnemonic), desc, variant_index);
    if (f.imm_index >= 0 && !encode_form(f, -1).ok()) f.imm_unsigned = true;
    auto bytes = encode_form(f, -1);
    if (!bytes) {
      cat_.errors.push_back(bytes.error().message);
      return;
    }
    cat_.forms.push_back(std::move(f));
  }

  // Fixed bytes: PCMPESTRx with REX.W (lengths from RAX/RDX), which the
  // encoder does not choose, and EMMS.
  void add_raw(const char* name, ZydisMnemonic m, std::vector<uint8_t> bytes) {
    Form f;
    f.name = name;
    f.mnemonic = m;
    f.raw = std::move(bytes);
    f.hint = Hint::kSimd;
    f.rule = sdm_flag_rule(m);
    cat_.forms.push_back(std::move(f));
  }

 private:
  Catalogue& cat_;
};

}  // namespace

void add_simd_forms(const HostFeatures& host, Catalogue& cat) {
  SimdBuilder b(cat);
  for (const SimdSpec& s : kSimdSpecs) {
    if (!host_has(host, s.set)) continue;
    std::string_view shapes = s.shapes;
    size_t pos = 0;
    while (pos < shapes.size()) {
      size_t end = shapes.find(' ', pos);
      if (end == std::string_view::npos) end = shapes.size();
      std::string_view shape = shapes.substr(pos, end - pos);
      pos = end + 1;
      for (int v = 0; v < 4; ++v) b.add(s, shape, v);
    }
  }
  b.add_raw("emms", ZYDIS_MNEMONIC_EMMS, {0x0F, 0x77});
  if (host.sse42) {
    // pcmpestri/pcmpestrm xmm1, xmm2, imm8 with REX.W, a few imm8 values.
    for (uint8_t imm : {0x00, 0x0C, 0x18, 0x44, 0x3A, 0x7D}) {
      b.add_raw(fmt::format("pcmpestri rexw xmm,xmm,{:#x}", imm).c_str(), ZYDIS_MNEMONIC_PCMPESTRI,
                {0x66, 0x48, 0x0F, 0x3A, 0x61, 0xCA, imm});
      b.add_raw(fmt::format("pcmpestrm rexw xmm,xmm,{:#x}", imm).c_str(), ZYDIS_MNEMONIC_PCMPESTRM,
                {0x66, 0x48, 0x0F, 0x3A, 0x60, 0xCA, imm});
    }
  }
}

}  // namespace vessel::difftest

#include "cpu/decode/bind_sse.h"

#include "cpu/exec/handlers.h"
#include "cpu/exec/mmx.h"
#include "cpu/exec/sse.h"

namespace vessel::cpu {
namespace {

// A visible operand: X xmm, G general register, M memory, I immediate, O other.
struct Operand {
  char kind = 0;
  uint8_t reg = kNoReg;
  uint8_t size = 0;  // bytes
};

struct XmmEntry {
  XmmFn fn = nullptr;
  bool fp = false;
};

// Operations with an XMM destination and an XMM or memory source (`mem`),
// or an immediate shift count (`imm`).
XmmEntry xmm_entry(ZydisMnemonic m, bool mem, bool imm) {
  switch (m) {
    case ZYDIS_MNEMONIC_MOVAPS:
    case ZYDIS_MNEMONIC_MOVUPS:
    case ZYDIS_MNEMONIC_MOVAPD:
    case ZYDIS_MNEMONIC_MOVUPD:
    case ZYDIS_MNEMONIC_MOVDQA:
    case ZYDIS_MNEMONIC_MOVDQU:
    case ZYDIS_MNEMONIC_MOVD:  // xmm, m32 (zero-extending)
      return {sse_mov128};
    case ZYDIS_MNEMONIC_MOVSS:
      return {mem ? sse_mov128 : sse_mov_low32};
    case ZYDIS_MNEMONIC_MOVSD:
      return {mem ? sse_mov128 : sse_mov_low64};
    case ZYDIS_MNEMONIC_MOVQ:
      return {mem ? sse_mov128 : sse_movq};
    case ZYDIS_MNEMONIC_MOVLPS:
    case ZYDIS_MNEMONIC_MOVLPD:
      return {sse_mov_low64};
    case ZYDIS_MNEMONIC_MOVHLPS:
      return {sse_movhlps};
    case ZYDIS_MNEMONIC_MOVHPS:
    case ZYDIS_MNEMONIC_MOVHPD:
    case ZYDIS_MNEMONIC_MOVLHPS:
      return {sse_mov_high64};
      // Floating point under MXCSR.
#define FP(M, f)           \
  case ZYDIS_MNEMONIC_##M: \
    return {sse_##f, true};
      FP(ADDPS, addps)
      FP(ADDSS, addss)
      FP(ADDPD, addpd)
      FP(ADDSD, addsd)
      FP(SUBPS, subps)
      FP(SUBSS, subss)
      FP(SUBPD, subpd) FP(SUBSD, subsd) FP(MULPS, mulps) FP(MULSS, mulss) FP(MULPD, mulpd) FP(
          MULSD, mulsd) FP(DIVPS, divps) FP(DIVSS, divss) FP(DIVPD, divpd) FP(DIVSD, divsd)
          FP(MINPS, minps) FP(MINSS, minss) FP(MINPD, minpd) FP(MINSD, minsd) FP(MAXPS, maxps) FP(
              MAXSS, maxss) FP(MAXPD, maxpd) FP(MAXSD, maxsd) FP(SQRTPS, sqrtps) FP(SQRTSS, sqrtss)
              FP(SQRTPD, sqrtpd) FP(SQRTSD, sqrtsd) FP(RCPPS, rcpps) FP(RCPSS, rcpss) FP(
                  RSQRTPS, rsqrtps) FP(RSQRTSS, rsqrtss) FP(CMPPS, cmpps) FP(CMPSS, cmpss)
                  FP(CMPPD, cmppd) FP(CMPSD, cmpsd) FP(COMISS, comiss) FP(UCOMISS, ucomiss) FP(
                      COMISD, comisd) FP(UCOMISD, ucomisd) FP(CVTPS2PD, cvtps2pd)
                      FP(CVTPD2PS, cvtpd2ps) FP(CVTSS2SD, cvtss2sd) FP(CVTSD2SS, cvtsd2ss) FP(
                          CVTDQ2PS, cvtdq2ps) FP(CVTPS2DQ, cvtps2dq) FP(CVTTPS2DQ, cvttps2dq)
                          FP(CVTDQ2PD, cvtdq2pd) FP(CVTPD2DQ, cvtpd2dq) FP(CVTTPD2DQ, cvttpd2dq) FP(
                              CVTPI2PS, cvtpi2ps) FP(CVTPI2PD, cvtdq2pd)
#undef FP
      // Bit operations, shuffles and packed integers: no MXCSR.
#define INT(M, f)          \
  case ZYDIS_MNEMONIC_##M: \
    return {sse_##f};
                              INT(ANDPS, andps) INT(ANDNPS, andnps) INT(ORPS, orps) INT(XORPS, xorps) INT(ANDPD, andps) INT(ANDNPD, andnps) INT(
                                  ORPD,
                                  orps) INT(XORPD,
                                            xorps) INT(SHUFPS,
                                                       shufps) INT(SHUFPD,
                                                                   shufpd) INT(UNPCKLPS,
                                                                               unpcklps) INT(UNPCKHPS,
                                                                                             unpckhps) INT(UNPCKLPD,
                                                                                                           unpcklpd)
                                  INT(UNPCKHPD,
                                      unpckhpd) INT(PADDB,
                                                    paddb) INT(PADDW,
                                                               paddw) INT(PADDD, paddd)
                                      INT(PADDQ, paddq) INT(
                                          PSUBB, psubb) INT(PSUBW, psubw) INT(PSUBD, psubd)
                                          INT(PSUBQ, psubq) INT(PADDSB, paddsb) INT(PADDSW, paddsw) INT(
                                              PADDUSB, paddusb) INT(PADDUSW,
                                                                    paddusw) INT(PSUBSB,
                                                                                 psubsb) INT(PSUBSW,
                                                                                             psubsw) INT(PSUBUSB,
                                                                                                         psubusb)
                                              INT(PSUBUSW, psubusw) INT(PMULLW, pmullw) INT(PMULHW, pmulhw) INT(
                                                  PMULHUW, pmulhuw) INT(PMULUDQ,
                                                                        pmuludq) INT(PMADDWD,
                                                                                     pmaddwd)
                                                  INT(PAVGB, pavgb) INT(
                                                      PAVGW,
                                                      pavgw) INT(PSADBW,
                                                                 psadbw) INT(PMINUB,
                                                                             pminub) INT(PMAXUB,
                                                                                         pmaxub) INT(PMINSW,
                                                                                                     pminsw) INT(PMAXSW,
                                                                                                                 pmaxsw)
                                                      INT(PCMPEQB, pcmpeqb) INT(
                                                          PCMPEQW, pcmpeqw) INT(PCMPEQD,
                                                                                pcmpeqd) INT(PCMPGTB,
                                                                                             pcmpgtb)
                                                          INT(PCMPGTW, pcmpgtw) INT(
                                                              PCMPGTD,
                                                              pcmpgtd) INT(PACKSSWB,
                                                                           packsswb) INT(PACKSSDW,
                                                                                         packssdw) INT(PACKUSWB,
                                                                                                       packuswb) INT(PAND,
                                                                                                                     pand)
                                                              INT(PANDN, pandn) INT(
                                                                  POR,
                                                                  por) INT(PXOR, pxor) INT(PUNPCKLBW,
                                                                                           punpcklbw)
                                                                  INT(PUNPCKLWD, punpcklwd) INT(
                                                                      PUNPCKLDQ,
                                                                      punpckldq) INT(PUNPCKLQDQ,
                                                                                     punpcklqdq) INT(PUNPCKHBW, punpckhbw)
                                                                      INT(PUNPCKHWD, punpckhwd) INT(
                                                                          PUNPCKHDQ,
                                                                          punpckhdq) INT(PUNPCKHQDQ,
                                                                                         punpckhqdq) INT(PSHUFD,
                                                                                                         pshufd)
                                                                          INT(PSHUFLW, pshuflw) INT(
                                                                              PSHUFHW,
                                                                              pshufhw) INT(PSLLDQ,
                                                                                           pslldq) INT(PSRLDQ,
                                                                                                       psrldq)
#undef INT
#define SHIFT(M, f)        \
  case ZYDIS_MNEMONIC_##M: \
    return {imm ? sse_##f##_imm : sse_##f};
                                                                              SHIFT(
                                                                                  PSLLW,
                                                                                  psllw) SHIFT(PSLLD,
                                                                                               pslld)
                                                                                  SHIFT(
                                                                                      PSLLQ,
                                                                                      psllq) SHIFT(PSRLW,
                                                                                                   psrlw)
                                                                                      SHIFT(
                                                                                          PSRLD,
                                                                                          psrld) SHIFT(PSRLQ,
                                                                                                       psrlq)
                                                                                          SHIFT(
                                                                                              PSRAW,
                                                                                              psraw)
                                                                                              SHIFT(
                                                                                                  PSRAD,
                                                                                                  psrad)
#undef SHIFT
                                                                                                  default
          : return {};
  }
}

// Stores of an XMM register to memory; `high`: the upper quadword.
bool is_store(ZydisMnemonic m, bool* aligned, bool* high) {
  *aligned = false;
  *high = false;
  switch (m) {
    case ZYDIS_MNEMONIC_MOVAPS:
    case ZYDIS_MNEMONIC_MOVAPD:
    case ZYDIS_MNEMONIC_MOVDQA:
    case ZYDIS_MNEMONIC_MOVNTPS:
    case ZYDIS_MNEMONIC_MOVNTPD:
    case ZYDIS_MNEMONIC_MOVNTDQ:
      *aligned = true;
      return true;
    case ZYDIS_MNEMONIC_MOVHPS:
    case ZYDIS_MNEMONIC_MOVHPD:
      *high = true;
      return true;
    case ZYDIS_MNEMONIC_MOVUPS:
    case ZYDIS_MNEMONIC_MOVUPD:
    case ZYDIS_MNEMONIC_MOVDQU:
    case ZYDIS_MNEMONIC_MOVSS:
    case ZYDIS_MNEMONIC_MOVSD:
    case ZYDIS_MNEMONIC_MOVLPS:
    case ZYDIS_MNEMONIC_MOVLPD:
    case ZYDIS_MNEMONIC_MOVQ:
    case ZYDIS_MNEMONIC_MOVD:
      return true;
    default:
      return false;
  }
}

// XMM (or memory) to general register; `size`: the destination's size.
XmmToGprFn to_gpr(ZydisMnemonic m, unsigned size, bool* fp) {
  *fp = false;
  bool wide = size == 8;
  switch (m) {
    case ZYDIS_MNEMONIC_MOVD:
    case ZYDIS_MNEMONIC_MOVQ:
      return sse_movd_to_gpr;
    case ZYDIS_MNEMONIC_MOVMSKPS:
      return sse_movmskps;
    case ZYDIS_MNEMONIC_MOVMSKPD:
      return sse_movmskpd;
    case ZYDIS_MNEMONIC_PMOVMSKB:
      return sse_pmovmskb;
    case ZYDIS_MNEMONIC_PEXTRW:
      return sse_pextrw;
    default:
      break;
  }
  *fp = true;
  switch (m) {
    case ZYDIS_MNEMONIC_CVTSS2SI:
      return wide ? sse_cvtss2si64 : sse_cvtss2si32;
    case ZYDIS_MNEMONIC_CVTTSS2SI:
      return wide ? sse_cvttss2si64 : sse_cvttss2si32;
    case ZYDIS_MNEMONIC_CVTSD2SI:
      return wide ? sse_cvtsd2si64 : sse_cvtsd2si32;
    case ZYDIS_MNEMONIC_CVTTSD2SI:
      return wide ? sse_cvttsd2si64 : sse_cvttsd2si32;
    default:
      return nullptr;
  }
}

// General register or integer memory operand (of `size` bytes) to XMM.
GprToXmmFn from_gpr(ZydisMnemonic m, unsigned size, bool* fp) {
  *fp = false;
  bool wide = size == 8;
  switch (m) {
    case ZYDIS_MNEMONIC_MOVD:
    case ZYDIS_MNEMONIC_MOVQ:
      return sse_movd_from_gpr;
    case ZYDIS_MNEMONIC_PINSRW:
      return sse_pinsrw;
    case ZYDIS_MNEMONIC_CVTSI2SS:
      *fp = true;
      return wide ? sse_cvtsi2ss64 : sse_cvtsi2ss32;
    case ZYDIS_MNEMONIC_CVTSI2SD:
      *fp = true;
      return wide ? sse_cvtsi2sd64 : sse_cvtsi2sd32;
    default:
      return nullptr;
  }
}

bool unaligned_ok(ZydisMnemonic m) {
  return m == ZYDIS_MNEMONIC_MOVUPS || m == ZYDIS_MNEMONIC_MOVUPD || m == ZYDIS_MNEMONIC_MOVDQU;
}

template <typename Fn>
uint64_t fn_bits(Fn fn) {
  return reinterpret_cast<uint64_t>(fn);
}

// MASKMOVDQU/MASKMOVQ: the implicit destination seg:rDI (a hidden operand).
bool fill_rdi_operand(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops,
                      const Operand* o, Insn* out) {
  for (unsigned k = zi.operand_count_visible; k < zi.operand_count; ++k) {
    const ZydisDecodedOperand& op = ops[k];
    if (op.type != ZYDIS_OPERAND_TYPE_MEMORY) continue;
    out->base = static_cast<uint8_t>(ZydisRegisterGetId(op.mem.base));
    out->index = kNoReg;
    out->scale = 1;
    out->disp = 0;
    out->seg = (op.mem.segment >= ZYDIS_REGISTER_ES && op.mem.segment <= ZYDIS_REGISTER_GS)
                   ? static_cast<uint8_t>(op.mem.segment - ZYDIS_REGISTER_ES)
                   : static_cast<uint8_t>(kDs);
    out->r0 = o[0].reg;
    out->r1 = o[1].reg;
    return true;
  }
  return false;
}

// Operations on MMX registers whose 64-bit form is not the XMM one on the
// low quadword; nullptr for the others.
XmmFn mmx_special(ZydisMnemonic m, bool mem) {
  switch (m) {
    case ZYDIS_MNEMONIC_PACKSSWB:
      return sse_mmx_packsswb;
    case ZYDIS_MNEMONIC_PACKSSDW:
      return sse_mmx_packssdw;
    case ZYDIS_MNEMONIC_PACKUSWB:
      return sse_mmx_packuswb;
    case ZYDIS_MNEMONIC_PUNPCKHBW:
      return sse_mmx_punpckhbw;
    case ZYDIS_MNEMONIC_PUNPCKHWD:
      return sse_mmx_punpckhwd;
    case ZYDIS_MNEMONIC_PUNPCKHDQ:
      return sse_mmx_punpckhdq;
    case ZYDIS_MNEMONIC_PSHUFW:
      return sse_pshuflw;
    case ZYDIS_MNEMONIC_MOVD:
    case ZYDIS_MNEMONIC_MOVQ:
      return mem ? sse_mov128 : sse_movq;
    default:
      return nullptr;
  }
}

// Instructions with an MMX register operand.
Handler bind_mmx_shape(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops,
                       ZydisMnemonic m, const Operand* o, Insn* out) {
  char k0 = o[0].kind, k1 = o[1].kind;
  if (m == ZYDIS_MNEMONIC_MASKMOVQ)
    return (k0 == 'Q' && k1 == 'Q' && fill_rdi_operand(zi, ops, o, out)) ? kMmxMaskmovq : nullptr;
  if (k0 == 'X' && k1 == 'Q') {  // CVTPI2PS/CVTPI2PD/MOVQ2DQ xmm, mm
    XmmEntry e;
    if (m == ZYDIS_MNEMONIC_CVTPI2PS) e = {sse_cvtpi2ps, true};
    if (m == ZYDIS_MNEMONIC_CVTPI2PD) e = {sse_cvtdq2pd, false};
    if (m == ZYDIS_MNEMONIC_MOVQ2DQ) e = {sse_movq, false};
    if (!e.fn) return nullptr;
    out->r0 = o[0].reg;
    out->r1 = o[1].reg;
    out->imm = fn_bits(e.fn);
    return mmx_xmm_from_mm(e.fp);
  }
  if (k0 == 'Q' && (k1 == 'X' || k1 == 'M')) {  // CVT(T)PS2PI/CVT(T)PD2PI/MOVDQ2Q mm, xmm/m
    XmmEntry e;
    if (m == ZYDIS_MNEMONIC_CVTPS2PI) e = {sse_cvtps2pi, true};
    if (m == ZYDIS_MNEMONIC_CVTTPS2PI) e = {sse_cvttps2pi, true};
    if (m == ZYDIS_MNEMONIC_CVTPD2PI) e = {sse_cvtpd2dq, true};
    if (m == ZYDIS_MNEMONIC_CVTTPD2PI) e = {sse_cvttpd2dq, true};
    if (m == ZYDIS_MNEMONIC_MOVDQ2Q) e = {sse_movq, false};
    if (e.fn) {
      out->r0 = o[0].reg;
      out->r1 = o[1].reg;
      out->size2 = o[1].size;
      out->imm = fn_bits(e.fn);
      SseSrc src = k1 == 'X' ? SseSrc::kReg : o[1].size == 16 ? SseSrc::kMemAligned : SseSrc::kMem;
      return mmx_mm_from_xmm(src, e.fp);
    }
  }
  if (k0 == 'Q' && (k1 == 'G' || (k1 == 'M' && m == ZYDIS_MNEMONIC_PINSRW))) {
    GprToXmmFn fn = nullptr;
    if (m == ZYDIS_MNEMONIC_MOVD || m == ZYDIS_MNEMONIC_MOVQ) fn = sse_movd_from_gpr;
    if (m == ZYDIS_MNEMONIC_PINSRW) fn = sse_mmx_pinsrw;
    if (!fn) return nullptr;
    out->r0 = o[0].reg;
    out->r1 = o[1].reg;
    out->size2 = o[1].size;
    out->imm = fn_bits(fn);
    return mmx_from_gpr(k1 == 'M');
  }
  if (k0 == 'G' && k1 == 'Q') {
    XmmToGprFn fn = nullptr;
    if (m == ZYDIS_MNEMONIC_MOVD || m == ZYDIS_MNEMONIC_MOVQ) fn = sse_movd_to_gpr;
    if (m == ZYDIS_MNEMONIC_PMOVMSKB) fn = sse_pmovmskb;
    if (m == ZYDIS_MNEMONIC_PEXTRW) fn = sse_mmx_pextrw;
    if (!fn) return nullptr;
    out->r0 = o[0].reg;
    out->r1 = o[1].reg;
    out->opsize = o[0].size;
    out->imm = fn_bits(fn);
    return mmx_to_gpr();
  }
  if (k0 == 'M' && k1 == 'Q') {
    if (m != ZYDIS_MNEMONIC_MOVD && m != ZYDIS_MNEMONIC_MOVQ && m != ZYDIS_MNEMONIC_MOVNTQ)
      return nullptr;
    out->r0 = o[1].reg;
    out->size2 = o[0].size;
    return mmx_store();
  }
  if (k0 == 'Q' && (k1 == 'Q' || k1 == 'M' || k1 == 'I')) {
    XmmFn fn = mmx_special(m, k1 == 'M');
    if (!fn) {
      XmmEntry e = xmm_entry(m, k1 == 'M', k1 == 'I');
      if (e.fp) return nullptr;  // no floating point on MMX registers
      fn = e.fn;
    }
    if (!fn) return nullptr;
    out->r0 = o[0].reg;
    out->r1 = k1 == 'Q' ? o[1].reg : o[0].reg;
    out->size2 = o[1].size;
    out->imm = fn_bits(fn);
    return mmx_op(k1 == 'M');
  }
  return nullptr;
}

// Binds by operand shape: o[0] and o[1] are the first two visible operands.
Handler bind_shape(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops,
                   ZydisMnemonic m, const Operand* o, Insn* out) {
  char k0 = o[0].kind, k1 = o[1].kind;
  if (m == ZYDIS_MNEMONIC_MASKMOVDQU)
    return (k0 == 'X' && k1 == 'X' && fill_rdi_operand(zi, ops, o, out)) ? kSseMaskmovdqu : nullptr;

  if (k0 == 'M' && k1 == 'X') {
    bool aligned, high;
    if (!is_store(m, &aligned, &high)) return nullptr;
    out->r0 = o[1].reg;
    out->size2 = o[0].size;
    out->op = high ? 8 : 0;
    return sse_store(aligned && o[0].size == 16);
  }

  if (k0 == 'G' && (k1 == 'X' || k1 == 'M')) {
    bool fp;
    XmmToGprFn fn = to_gpr(m, o[0].size, &fp);
    if (!fn) return nullptr;
    out->r0 = o[0].reg;
    out->r1 = o[1].reg;
    out->opsize = o[0].size;
    out->size2 = o[1].size;
    out->imm = fn_bits(fn);
    return sse_xmm_to_gpr(k1 == 'X' ? SseSrc::kReg : SseSrc::kMem, fp);
  }

  if (k0 == 'X' &&
      (k1 == 'G' || (k1 == 'M' && m != ZYDIS_MNEMONIC_MOVD && m != ZYDIS_MNEMONIC_MOVQ))) {
    bool fp;
    GprToXmmFn fn = from_gpr(m, o[1].size, &fp);
    if (fn) {
      out->r0 = o[0].reg;
      out->r1 = o[1].reg;
      out->size2 = o[1].size;
      out->imm = fn_bits(fn);
      return sse_gpr_to_xmm(k1 == 'M', fp);
    }
    if (k1 == 'G') return nullptr;
  }

  if (k0 == 'X' && (k1 == 'X' || k1 == 'M' || k1 == 'I')) {
    XmmEntry e = xmm_entry(m, k1 == 'M', k1 == 'I');
    if (!e.fn) return nullptr;
    out->r0 = o[0].reg;
    out->r1 = k1 == 'X' ? o[1].reg : o[0].reg;
    out->size2 = o[1].size;
    out->imm = fn_bits(e.fn);
    SseSrc src = SseSrc::kReg;
    if (k1 == 'M') src = (o[1].size == 16 && !unaligned_ok(m)) ? SseSrc::kMemAligned : SseSrc::kMem;
    return sse_xmm_op(src, e.fp);
  }
  return nullptr;
}

}  // namespace

Handler bind_sse(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Insn* out) {
  if (zi.encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY) return nullptr;
  if (zi.mnemonic == ZYDIS_MNEMONIC_MOVNTI)
    return data_mov(Form::kMR, out->opsize);  // a plain GPR store
  Operand o[3];
  unsigned n = 0;
  if (zi.mnemonic == ZYDIS_MNEMONIC_EMMS) return kMmxEmms;
  bool any_xmm = false, any_mmx = false;
  uint16_t imm8 = 0;
  for (unsigned k = 0; k < zi.operand_count_visible && n < 3; ++k, ++n) {
    const ZydisDecodedOperand& op = ops[k];
    o[n].size = static_cast<uint8_t>(op.size / 8);
    switch (op.type) {
      case ZYDIS_OPERAND_TYPE_REGISTER: {
        ZydisRegister r = op.reg.value;
        ZydisRegisterClass cls = ZydisRegisterGetClass(r);
        if (r >= ZYDIS_REGISTER_XMM0 && r <= ZYDIS_REGISTER_XMM15) {
          o[n].kind = 'X';
          o[n].reg = static_cast<uint8_t>(r - ZYDIS_REGISTER_XMM0);
          any_xmm = true;
        } else if (r >= ZYDIS_REGISTER_MM0 && r <= ZYDIS_REGISTER_MM7) {
          o[n].kind = 'Q';
          o[n].reg = static_cast<uint8_t>(r - ZYDIS_REGISTER_MM0);
          any_mmx = true;
        } else if (cls == ZYDIS_REGCLASS_GPR32 || cls == ZYDIS_REGCLASS_GPR64) {
          o[n].kind = 'G';
          o[n].reg = static_cast<uint8_t>(ZydisRegisterGetId(r));
        } else {
          o[n].kind = 'O';
        }
        break;
      }
      case ZYDIS_OPERAND_TYPE_MEMORY:
        o[n].kind = 'M';
        if (o[n].size != 2 && o[n].size != 4 && o[n].size != 8 && o[n].size != 16)
          o[n].kind = 'O';  // not an operand size the handlers move
        break;
      case ZYDIS_OPERAND_TYPE_IMMEDIATE:
        o[n].kind = 'I';
        imm8 = static_cast<uint16_t>(op.imm.value.u & 0xFF);
        break;
      default:
        o[n].kind = 'O';
        break;
    }
  }
  if (n < 2) return nullptr;
  for (unsigned k = 0; k < n; ++k)
    if (o[k].kind == 'O') return nullptr;  // x87, segment, control registers and the like
  ZydisMnemonic m = zi.mnemonic;
  char k0 = o[0].kind, k1 = o[1].kind;
  // Without an XMM or MMX operand only CVT(T)SS2SI/CVT(T)SD2SI r, m are SSE.
  if (!any_xmm && !any_mmx && !(k0 == 'G' && k1 == 'M')) return nullptr;
  Handler h = any_mmx ? bind_mmx_shape(zi, ops, m, o, out) : bind_shape(zi, ops, m, o, out);
  if (h) out->imm2 = imm8;
  return h;
}

}  // namespace vessel::cpu

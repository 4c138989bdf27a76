#include "cpu/decode/bind_sse41.h"

#include "cpu/exec/sse41.h"

namespace vessel::cpu {
namespace {

struct Entry {
  XmmFn fn = nullptr;
  bool fp = false;
};

// xmm, xmm/m [, imm8] operations.
Entry xmm_entry(ZydisMnemonic m, bool mem) {
  switch (m) {
#define I(M, f)            \
  case ZYDIS_MNEMONIC_##M: \
    return {sse_##f};
#define F(M, f)            \
  case ZYDIS_MNEMONIC_##M: \
    return {sse_##f, true};
    I(PMOVSXBW, pmovsxbw)
    I(PMOVSXBD, pmovsxbd)
    I(PMOVSXBQ, pmovsxbq)
    I(PMOVSXWD, pmovsxwd)
    I(PMOVSXWQ, pmovsxwq)
    I(PMOVSXDQ, pmovsxdq)
    I(PMOVZXBW, pmovzxbw)
    I(PMOVZXBD, pmovzxbd)
    I(PMOVZXBQ, pmovzxbq)
    I(PMOVZXWD, pmovzxwd)
    I(PMOVZXWQ, pmovzxwq)
    I(PMOVZXDQ, pmovzxdq)
    I(PMINSB, pminsb)
    I(PMINSD, pminsd)
    I(PMINUW, pminuw)
    I(PMINUD, pminud)
    I(PMAXSB, pmaxsb)
    I(PMAXSD, pmaxsd)
    I(PMAXUW, pmaxuw)
    I(PMAXUD, pmaxud)
    I(PMULLD, pmulld)
    I(PMULDQ, pmuldq)
    I(PCMPEQQ, pcmpeqq)
    I(PACKUSDW, packusdw)
    I(PTEST, ptest)
    I(PBLENDW, pblendw)
    I(BLENDPS, blendps)
    I(BLENDPD, blendpd)
    I(PBLENDVB, pblendvb)
    I(BLENDVPS, blendvps)
    I(BLENDVPD, blendvpd)
    I(MPSADBW, mpsadbw)
    I(PHMINPOSUW, phminposuw)
    I(MOVNTDQA, mov128)
    F(ROUNDPS, roundps)
    F(ROUNDPD, roundpd)
    F(ROUNDSS, roundss)
    F(ROUNDSD, roundsd)
    F(DPPS, dpps)
    F(DPPD, dppd)
#undef I
#undef F
    case ZYDIS_MNEMONIC_INSERTPS:
      return {mem ? sse_insertps_mem : sse_insertps};
    default:
      return {};
  }
}

XmmToGprFn extract_fn(ZydisMnemonic m) {
  switch (m) {
    case ZYDIS_MNEMONIC_PEXTRB:
      return sse_pextrb;
    case ZYDIS_MNEMONIC_PEXTRW:
      return sse_pextrw;
    case ZYDIS_MNEMONIC_PEXTRD:
    case ZYDIS_MNEMONIC_EXTRACTPS:
      return sse_pextrd;
    case ZYDIS_MNEMONIC_PEXTRQ:
      return sse_pextrq;
    default:
      return nullptr;
  }
}

GprToXmmFn insert_fn(ZydisMnemonic m) {
  switch (m) {
    case ZYDIS_MNEMONIC_PINSRB:
      return sse_pinsrb;
    case ZYDIS_MNEMONIC_PINSRD:
      return sse_pinsrd;
    case ZYDIS_MNEMONIC_PINSRQ:
      return sse_pinsrq;
    default:
      return nullptr;
  }
}

bool is_xmm(const ZydisDecodedOperand& op) {
  return op.type == ZYDIS_OPERAND_TYPE_REGISTER && op.reg.value >= ZYDIS_REGISTER_XMM0 &&
         op.reg.value <= ZYDIS_REGISTER_XMM15;
}
bool is_gpr(const ZydisDecodedOperand& op) {
  if (op.type != ZYDIS_OPERAND_TYPE_REGISTER) return false;
  ZydisRegisterClass cls = ZydisRegisterGetClass(op.reg.value);
  return cls == ZYDIS_REGCLASS_GPR32 || cls == ZYDIS_REGCLASS_GPR64;
}
uint8_t xmm_num(const ZydisDecodedOperand& op) {
  return static_cast<uint8_t>(op.reg.value - ZYDIS_REGISTER_XMM0);
}
uint8_t gpr_num(const ZydisDecodedOperand& op) {
  return static_cast<uint8_t>(ZydisRegisterGetId(op.reg.value));
}
bool is_mem(const ZydisDecodedOperand& op) {
  return op.type == ZYDIS_OPERAND_TYPE_MEMORY;
}

template <typename Fn>
uint64_t fn_bits(Fn fn) {
  return reinterpret_cast<uint64_t>(fn);
}

// Binds by the first two operands `a` and `b` (the imm8, if any, is set by the caller).
Handler bind_operands(ZydisMnemonic m, const ZydisDecodedOperand& a, const ZydisDecodedOperand& b,
                      Insn* out) {
  unsigned size_a = a.size / 8, size_b = b.size / 8;

  if (XmmToGprFn fn = extract_fn(m)) {  // r32/r64/m, xmm, imm8
    if (!is_xmm(b)) return nullptr;
    out->r1 = xmm_num(b);
    out->imm = fn_bits(fn);
    if (is_gpr(a)) {
      out->r0 = gpr_num(a);
      out->opsize = static_cast<uint8_t>(size_a);
      return sse_xmm_to_gpr(SseSrc::kReg, false);
    }
    if (!is_mem(a) || (size_a != 1 && size_a != 2 && size_a != 4 && size_a != 8)) return nullptr;
    out->size2 = static_cast<uint8_t>(size_a);
    return kSse41ExtractToMem;
  }
  if (GprToXmmFn fn = insert_fn(m)) {  // xmm, r32/r64/m, imm8
    if (!is_xmm(a)) return nullptr;
    if (!is_gpr(b) && !(is_mem(b) && (size_b == 1 || size_b == 4 || size_b == 8))) return nullptr;
    out->r0 = xmm_num(a);
    out->r1 = is_gpr(b) ? gpr_num(b) : 0;
    out->size2 = static_cast<uint8_t>(size_b);
    out->imm = fn_bits(fn);
    return sse_gpr_to_xmm(is_mem(b), false);
  }
  Entry e = xmm_entry(m, is_mem(b));
  if (!e.fn || !is_xmm(a)) return nullptr;
  if (!is_xmm(b) && !(is_mem(b) && (size_b == 2 || size_b == 4 || size_b == 8 || size_b == 16)))
    return nullptr;
  if (m == ZYDIS_MNEMONIC_MOVNTDQA && !is_mem(b)) return nullptr;
  out->r0 = xmm_num(a);
  out->r1 = is_xmm(b) ? xmm_num(b) : out->r0;
  out->size2 = static_cast<uint8_t>(size_b);
  out->imm = fn_bits(e.fn);
  SseSrc src = !is_mem(b) ? SseSrc::kReg : size_b == 16 ? SseSrc::kMemAligned : SseSrc::kMem;
  return sse_xmm_op(src, e.fp);
}

}  // namespace

Handler bind_sse41(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Insn* out) {
  if (zi.encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY || zi.operand_count_visible < 2)
    return nullptr;
  Handler h = bind_operands(zi.mnemonic, ops[0], ops[1], out);
  if (!h) return nullptr;
  out->imm2 = 0;
  for (unsigned k = 2; k < zi.operand_count_visible; ++k)
    if (ops[k].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
      out->imm2 = static_cast<uint16_t>(ops[k].imm.value.u & 0xFF);
  return h;
}

}  // namespace vessel::cpu

#include "cpu/decode/bind_ssse3.h"

#include "cpu/exec/mmx.h"
#include "cpu/exec/ssse3.h"

namespace vessel::cpu {
namespace {

struct Entry {
  XmmFn xmm = nullptr;
  XmmFn mmx = nullptr;  // the MMX form; nullptr when there is none
  bool fp = false;
  bool aligned = true;  // a 16-byte memory operand must be aligned
};

Entry entry(ZydisMnemonic m) {
  switch (m) {
    case ZYDIS_MNEMONIC_ADDSUBPS:
      return {sse_addsubps, nullptr, true};
    case ZYDIS_MNEMONIC_ADDSUBPD:
      return {sse_addsubpd, nullptr, true};
    case ZYDIS_MNEMONIC_HADDPS:
      return {sse_haddps, nullptr, true};
    case ZYDIS_MNEMONIC_HADDPD:
      return {sse_haddpd, nullptr, true};
    case ZYDIS_MNEMONIC_HSUBPS:
      return {sse_hsubps, nullptr, true};
    case ZYDIS_MNEMONIC_HSUBPD:
      return {sse_hsubpd, nullptr, true};
    case ZYDIS_MNEMONIC_MOVDDUP:
      return {sse_movddup};
    case ZYDIS_MNEMONIC_MOVSHDUP:
      return {sse_movshdup};
    case ZYDIS_MNEMONIC_MOVSLDUP:
      return {sse_movsldup};
    case ZYDIS_MNEMONIC_LDDQU:
      return {sse_mov128, nullptr, false, false};
#define SSSE3(M, f)        \
  case ZYDIS_MNEMONIC_##M: \
    return {sse_##f, sse_mmx_##f};
      SSSE3(PSHUFB, pshufb)
      SSSE3(PHADDW, phaddw)
      SSSE3(PHADDD, phaddd)
      SSSE3(PHADDSW, phaddsw)
      SSSE3(PHSUBW, phsubw)
      SSSE3(PHSUBD, phsubd)
      SSSE3(PHSUBSW, phsubsw)
      SSSE3(PMADDUBSW, pmaddubsw)
      SSSE3(PMULHRSW, pmulhrsw)
      SSSE3(PSIGNB, psignb)
      SSSE3(PSIGNW, psignw)
      SSSE3(PSIGND, psignd)
      SSSE3(PABSB, pabsb)
      SSSE3(PABSW, pabsw)
      SSSE3(PABSD, pabsd)
      SSSE3(PALIGNR, palignr)
#undef SSSE3
    default:
      return {};
  }
}

// An XMM (x = true) or MMX register operand's number; false for others.
bool vector_reg(const ZydisDecodedOperand& op, bool* x, uint8_t* r) {
  if (op.type != ZYDIS_OPERAND_TYPE_REGISTER) return false;
  ZydisRegister v = op.reg.value;
  if (v >= ZYDIS_REGISTER_XMM0 && v <= ZYDIS_REGISTER_XMM15) {
    *x = true;
    *r = static_cast<uint8_t>(v - ZYDIS_REGISTER_XMM0);
    return true;
  }
  if (v >= ZYDIS_REGISTER_MM0 && v <= ZYDIS_REGISTER_MM7) {
    *x = false;
    *r = static_cast<uint8_t>(v - ZYDIS_REGISTER_MM0);
    return true;
  }
  return false;
}

}  // namespace

Handler bind_ssse3(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Insn* out) {
  if (zi.encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY) return nullptr;
  Entry e = entry(zi.mnemonic);
  if (!e.xmm || zi.operand_count_visible < 2) return nullptr;
  bool dx, sx = false;
  uint8_t dr, sr = 0;
  if (!vector_reg(ops[0], &dx, &dr)) return nullptr;
  const ZydisDecodedOperand& src = ops[1];
  bool mem = src.type == ZYDIS_OPERAND_TYPE_MEMORY;
  if (!mem && (!vector_reg(src, &sx, &sr) || sx != dx)) return nullptr;
  unsigned size = src.size / 8;
  if (mem && size != 8 && size != 16) return nullptr;
  uint16_t imm8 = 0;
  if (zi.operand_count_visible > 2) {
    if (ops[2].type != ZYDIS_OPERAND_TYPE_IMMEDIATE) return nullptr;
    imm8 = static_cast<uint16_t>(ops[2].imm.value.u & 0xFF);
  }
  XmmFn fn = dx ? e.xmm : e.mmx;
  if (!fn) return nullptr;
  out->r0 = dr;
  out->r1 = mem ? dr : sr;
  out->size2 = static_cast<uint8_t>(size);
  out->imm = reinterpret_cast<uint64_t>(fn);
  out->imm2 = imm8;
  if (!dx) return mmx_op(mem);
  SseSrc s = !mem ? SseSrc::kReg : (size == 16 && e.aligned) ? SseSrc::kMemAligned : SseSrc::kMem;
  return sse_xmm_op(s, e.fp);
}

}  // namespace vessel::cpu

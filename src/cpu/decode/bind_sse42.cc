#include "cpu/decode/bind_sse42.h"

#include "cpu/exec/handlers.h"
#include "cpu/exec/sse42.h"

namespace vessel::cpu {
namespace {

XmmFn xmm_fn(ZydisMnemonic m) {
  switch (m) {
    case ZYDIS_MNEMONIC_PCMPGTQ:
      return sse_pcmpgtq;
    case ZYDIS_MNEMONIC_PCMPESTRI:
      return sse_pcmpestri;
    case ZYDIS_MNEMONIC_PCMPESTRM:
      return sse_pcmpestrm;
    case ZYDIS_MNEMONIC_PCMPISTRI:
      return sse_pcmpistri;
    case ZYDIS_MNEMONIC_PCMPISTRM:
      return sse_pcmpistrm;
    default:
      return nullptr;
  }
}

bool is_xmm(const ZydisDecodedOperand& op) {
  return op.type == ZYDIS_OPERAND_TYPE_REGISTER && op.reg.value >= ZYDIS_REGISTER_XMM0 &&
         op.reg.value <= ZYDIS_REGISTER_XMM15;
}
uint8_t xmm_num(const ZydisDecodedOperand& op) {
  return static_cast<uint8_t>(op.reg.value - ZYDIS_REGISTER_XMM0);
}

// CRC32 r32/r64, r/m8/16/32/64: the decoder has filled r0 (the destination),
// r1 (a register source, byte registers included) and the memory operand.
Handler bind_crc32(const ZydisDecodedOperand* ops, Insn* out) {
  const ZydisDecodedOperand& dst = ops[0];
  const ZydisDecodedOperand& src = ops[1];
  if (dst.type != ZYDIS_OPERAND_TYPE_REGISTER || (dst.size != 32 && dst.size != 64))
    return kRaiseUd;
  out->opsize = static_cast<uint8_t>(dst.size / 8);
  out->size2 = static_cast<uint8_t>(src.size / 8);
  return sse42_crc32(src.type == ZYDIS_OPERAND_TYPE_MEMORY);
}

}  // namespace

Handler bind_sse42(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Insn* out) {
  if (zi.encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY || zi.operand_count_visible < 2)
    return nullptr;
  if (zi.mnemonic == ZYDIS_MNEMONIC_CRC32) return bind_crc32(ops, out);
  XmmFn fn = xmm_fn(zi.mnemonic);
  if (!fn) return nullptr;
  const ZydisDecodedOperand& a = ops[0];
  const ZydisDecodedOperand& b = ops[1];
  bool mem = b.type == ZYDIS_OPERAND_TYPE_MEMORY;
  if (!is_xmm(a) || (!is_xmm(b) && !mem)) return nullptr;
  out->r0 = xmm_num(a);
  out->r1 = mem ? out->r0 : xmm_num(b);
  out->size2 = 16;
  out->imm = reinterpret_cast<uint64_t>(fn);
  out->imm2 = 0;
  if (zi.operand_count_visible > 2 && ops[2].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
    out->imm2 = static_cast<uint16_t>(ops[2].imm.value.u & 0xFF);
  if (zi.raw.rex.W) out->imm2 = static_cast<uint16_t>(out->imm2 | kStrRexW);
  // PCMPGTQ's m128 must be 16-byte aligned; the string compares take any address.
  SseSrc src = !mem                                    ? SseSrc::kReg
               : zi.mnemonic == ZYDIS_MNEMONIC_PCMPGTQ ? SseSrc::kMemAligned
                                                       : SseSrc::kMem;
  return sse_xmm_op(src, false);
}

}  // namespace vessel::cpu

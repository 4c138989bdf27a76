#include "cpu/decode/bind_intops.h"

#include <optional>

#include "cpu/exec/intops.h"

namespace vessel::cpu {
namespace {

std::optional<IntOp> intop_of(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops) {
  switch (zi.mnemonic) {
    case ZYDIS_MNEMONIC_CMPXCHG8B:
      return IntOp::kCmpxchg8b;
    case ZYDIS_MNEMONIC_CMPXCHG16B:
      return IntOp::kCmpxchg16b;
    case ZYDIS_MNEMONIC_MOVBE:
      return ops[0].type == ZYDIS_OPERAND_TYPE_MEMORY ? IntOp::kMovbeStore : IntOp::kMovbeLoad;
    case ZYDIS_MNEMONIC_POPCNT:
      return IntOp::kPopcnt;
    case ZYDIS_MNEMONIC_LZCNT:
      return IntOp::kLzcnt;
    case ZYDIS_MNEMONIC_TZCNT:
      return IntOp::kTzcnt;
    case ZYDIS_MNEMONIC_ANDN:
      return IntOp::kAndn;
    case ZYDIS_MNEMONIC_BEXTR:
      return IntOp::kBextr;
    case ZYDIS_MNEMONIC_BLSI:
      return IntOp::kBlsi;
    case ZYDIS_MNEMONIC_BLSMSK:
      return IntOp::kBlsmsk;
    case ZYDIS_MNEMONIC_BLSR:
      return IntOp::kBlsr;
    case ZYDIS_MNEMONIC_BZHI:
      return IntOp::kBzhi;
    case ZYDIS_MNEMONIC_MULX:
      return IntOp::kMulx;
    case ZYDIS_MNEMONIC_PDEP:
      return IntOp::kPdep;
    case ZYDIS_MNEMONIC_PEXT:
      return IntOp::kPext;
    case ZYDIS_MNEMONIC_RORX:
      return IntOp::kRorx;
    case ZYDIS_MNEMONIC_SARX:
      return IntOp::kSarx;
    case ZYDIS_MNEMONIC_SHLX:
      return IntOp::kShlx;
    case ZYDIS_MNEMONIC_SHRX:
      return IntOp::kShrx;
    case ZYDIS_MNEMONIC_ADCX:
      return IntOp::kAdcx;
    case ZYDIS_MNEMONIC_ADOX:
      return IntOp::kAdox;
    default:
      return std::nullopt;
  }
}

bool is_gpr(ZydisRegister r) {
  switch (ZydisRegisterGetClass(r)) {
    case ZYDIS_REGCLASS_GPR16:
    case ZYDIS_REGCLASS_GPR32:
    case ZYDIS_REGCLASS_GPR64:
      return true;
    default:
      return false;
  }
}

}  // namespace

Handler bind_intops(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Insn* out) {
  switch (zi.mnemonic) {
    case ZYDIS_MNEMONIC_SYSENTER:
      return kSysenter;
    case ZYDIS_MNEMONIC_SYSEXIT:
      return kSysexit;
    case ZYDIS_MNEMONIC_RDRAND:
    case ZYDIS_MNEMONIC_RDSEED:
      return kRaiseUd;  // not in CPUID
    case ZYDIS_MNEMONIC_ENDBR32:
    case ZYDIS_MNEMONIC_ENDBR64:
      return kNopSystem;  // no CET: hint NOPs
    default:
      break;
  }
  std::optional<IntOp> op = intop_of(zi, ops);
  if (!op) return nullptr;
  // Operands by their encoding: ModRM.reg -> r0, VEX.vvvv -> r1, ModRM.rm ->
  // the memory operand (already filled) or register size2.
  out->r0 = out->r1 = kNoReg;
  bool mem = false;
  for (unsigned k = 0; k < zi.operand_count_visible; ++k) {
    const ZydisDecodedOperand& o = ops[k];
    if (o.type == ZYDIS_OPERAND_TYPE_MEMORY) {
      mem = true;
      continue;
    }
    if (o.type != ZYDIS_OPERAND_TYPE_REGISTER) continue;
    if (!is_gpr(o.reg.value)) return kRaiseUd;
    auto id = static_cast<uint8_t>(ZydisRegisterGetId(o.reg.value));
    switch (o.encoding) {
      case ZYDIS_OPERAND_ENCODING_MODRM_REG:
        out->r0 = id;
        break;
      case ZYDIS_OPERAND_ENCODING_NDSNDD:
        out->r1 = id;
        break;
      case ZYDIS_OPERAND_ENCODING_MODRM_RM:
        out->size2 = id;
        break;
      default:
        break;
    }
  }
  Handler h = intop(*op, mem);
  return h ? h : kRaiseUd;
}

}  // namespace vessel::cpu

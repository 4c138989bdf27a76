#include "form.h"

namespace vessel::difftest {

Expected<std::vector<uint8_t>> encode_form(const Form& form, int64_t imm) {
  if (!form.raw.empty()) return form.raw;
  ZydisEncoderRequest req = form.request;
  if (form.imm_index >= 0) {
    if (form.imm_unsigned && form.imm_bits < 64) {
      req.operands[form.imm_index].imm.u =
          static_cast<uint64_t>(imm) & ((1ull << form.imm_bits) - 1);
    } else {
      req.operands[form.imm_index].imm.s = imm;
    }
  }
  std::vector<uint8_t> out(ZYDIS_MAX_INSTRUCTION_LENGTH);
  ZyanUSize len = out.size();
  ZyanStatus st = ZydisEncoderEncodeInstruction(&req, out.data(), &len);
  if (!ZYAN_SUCCESS(st)) {
    return make_error("form '{}': cannot encode with immediate {:#x} (zydis status {:#x})",
                      form.name, imm, static_cast<uint32_t>(st));
  }
  out.resize(len);
  return out;
}

uint64_t undefined_flags(const Form& form, const UserState& in, int64_t imm) {
  uint64_t undefined = form.rule.undefined;
  if (form.rule.count == CountRule::kNone) return undefined;
  uint64_t raw = form.imm_index >= 0 ? static_cast<uint64_t>(imm) : in.gpr[kRcx];
  if (form.imm_index < 0 && form.raw.empty()) {
    // Shift by 1 has the count in the opcode; by CL reads RCX.
    bool by_cl = false;
    for (int i = 0; i < form.request.operand_count; ++i) {
      if (form.request.operands[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
          form.request.operands[i].reg.value == ZYDIS_REGISTER_CL && i > 0) {
        by_cl = true;
      }
    }
    if (!by_cl) raw = 1;
  }
  unsigned count = static_cast<unsigned>(raw & (form.size == 64 ? 63 : 31));
  if (count == 0) return undefined;
  switch (form.rule.count) {
    case CountRule::kShiftCfWide:
      if (count >= static_cast<unsigned>(form.size)) undefined |= kFlagCF;
      [[fallthrough]];
    case CountRule::kShift:
    case CountRule::kShiftDouble:
      undefined |= kFlagAF;
      if (count != 1) undefined |= kFlagOF;
      break;
    case CountRule::kRotate:
      if (count != 1) undefined |= kFlagOF;
      break;
    case CountRule::kNone:
      break;
  }
  return undefined;
}

}  // namespace vessel::difftest

#include "sdm_flags.h"

#include "user_state.h"

namespace vessel::difftest {

FlagRule sdm_flag_rule(ZydisMnemonic m) {
  constexpr uint64_t CF = kFlagCF, PF = kFlagPF, AF = kFlagAF, ZF = kFlagZF, SF = kFlagSF,
                     OF = kFlagOF;
  switch (m) {
    // AND/OR/XOR/TEST: "The OF and CF flags are cleared; the SF, ZF, and PF flags are set
    // according to the result. The state of the AF flag is undefined."
    case ZYDIS_MNEMONIC_AND:
    case ZYDIS_MNEMONIC_OR:
    case ZYDIS_MNEMONIC_XOR:
    case ZYDIS_MNEMONIC_TEST:
      return {AF};
    // MUL: "The OF and CF flags are set to 0 if the upper half of the result is 0; otherwise,
    // they are set to 1. The SF, ZF, AF, and PF flags are undefined."
    case ZYDIS_MNEMONIC_MUL:
    // IMUL: "For the one operand form ... CF and OF ... The SF, ZF, AF, and PF flags are
    // undefined." (same for the two- and three-operand forms)
    case ZYDIS_MNEMONIC_IMUL:
      return {SF | ZF | AF | PF};
    // DIV, IDIV: "The CF, OF, SF, ZF, AF, and PF flags are undefined."
    case ZYDIS_MNEMONIC_DIV:
    case ZYDIS_MNEMONIC_IDIV:
      return {CF | OF | SF | ZF | AF | PF};
    // SAL/SAR/SHL/SHR: "The CF flag contains the value of the last bit shifted out ... The
    // CF flag is undefined for SHL and SHR instructions where the count is greater than or
    // equal to the size (in bits) of the destination operand. The OF flag is affected only
    // for 1-bit shifts; otherwise, it is undefined. ... If the count is 0, the flags are not
    // affected. For a non-zero count, the AF flag is undefined."
    case ZYDIS_MNEMONIC_SHL:
    case ZYDIS_MNEMONIC_SHR:
      return {0, CountRule::kShiftCfWide};
    case ZYDIS_MNEMONIC_SAR:
      return {0, CountRule::kShift};
    // RCL/RCR/ROL/ROR: "If the masked count is 0, the flags are not affected. If the masked
    // count is 1, then the OF flag is affected, otherwise (masked count is greater than 1)
    // the OF flag is undefined." SF, ZF, AF, PF are not affected.
    case ZYDIS_MNEMONIC_ROL:
    case ZYDIS_MNEMONIC_ROR:
    case ZYDIS_MNEMONIC_RCL:
    case ZYDIS_MNEMONIC_RCR:
      return {0, CountRule::kRotate};
    // SHLD/SHRD: "If the count is 1 or greater, the CF flag is filled with the last bit
    // shifted out ... For a 1-bit shift, the OF flag is set if a sign change occurred;
    // otherwise, it is cleared. For shifts greater than 1 bit, the OF flag is undefined.
    // ... If the count operand is 0, the flags are not affected. If the count is greater
    // than the operand size, the flags are undefined." AF: "undefined" for a non-zero count.
    // (The generator keeps the count <= the operand size.)
    case ZYDIS_MNEMONIC_SHLD:
    case ZYDIS_MNEMONIC_SHRD:
      return {0, CountRule::kShiftDouble};
    // BT/BTS/BTR/BTC: "The CF flag contains the value of the selected bit. The ZF flag is
    // unaffected. The OF, SF, AF, and PF flags are undefined."
    case ZYDIS_MNEMONIC_BT:
    case ZYDIS_MNEMONIC_BTS:
    case ZYDIS_MNEMONIC_BTR:
    case ZYDIS_MNEMONIC_BTC:
      return {OF | SF | AF | PF};
    // BSF/BSR: "The ZF flag is set to 1 if the source operand is 0; otherwise, the ZF flag
    // is cleared. The CF, OF, SF, AF, and PF flags are undefined." and "If the content of
    // the source operand is 0, the content of the destination operand is undefined."
    case ZYDIS_MNEMONIC_BSF:
    case ZYDIS_MNEMONIC_BSR:
      return {CF | OF | SF | AF | PF, CountRule::kNone, true};
    // LZCNT/TZCNT: "The ZF flag is set to 1 in case of zero output ... The CF flag is set
    // to 1 if input was zero ... The OF, SF, PF and AF flags are undefined."
    case ZYDIS_MNEMONIC_LZCNT:
    case ZYDIS_MNEMONIC_TZCNT:
      return {OF | SF | PF | AF};
    // POPCNT: "OF, SF, ZF, AF, CF, PF are all cleared. ZF is set if SRC = 0" — all defined.
    // ANDN: "SF and ZF are updated based on result. OF and CF flags are cleared. AF and PF
    // flags are undefined."
    case ZYDIS_MNEMONIC_ANDN:
      return {AF | PF};
    // BEXTR: "ZF is updated based on the result. AF, SF, and PF are undefined. All other
    // flags are cleared."
    case ZYDIS_MNEMONIC_BEXTR:
      return {AF | SF | PF};
    // BLSI: "ZF and SF are updated based on the result. CF is set if the source is not
    // zero. OF flags are cleared. AF and PF flags are undefined."
    // BLSMSK: "SF is updated based on the result. CF is set if the source if zero. ZF and OF
    // flags are cleared. AF and PF flag are undefined."
    // BLSR: "ZF and SF flags are updated based on the result. CF is set if the source is
    // zero. OF flag is cleared. AF and PF flags are undefined."
    case ZYDIS_MNEMONIC_BLSI:
    case ZYDIS_MNEMONIC_BLSMSK:
    case ZYDIS_MNEMONIC_BLSR:
      return {AF | PF};
    // BZHI: "ZF, CF and SF flags are updated based on the result. OF flag is cleared. AF and
    // PF flags are undefined."
    case ZYDIS_MNEMONIC_BZHI:
      return {AF | PF};
    // Everything else in the catalogue defines all the flags it touches: ADD/ADC/SUB/SBB/
    // CMP/NEG/INC/DEC/CMPXCHG/XADD/CMPS/SCAS (all six set per result, INC/DEC keep CF),
    // POPCNT, SAHF/LAHF, CLC/STC/CMC, ADCX (CF only), ADOX (OF only); MOV/MOVZX/MOVSX/
    // MOVSXD/LEA/XCHG/BSWAP/MOVBE/CMOVcc/SETcc/NOT/CBW.../MOVS/STOS/LODS and
    // MULX/PDEP/PEXT/RORX/SARX/SHLX/SHRX: "Flags Affected: None".
    default:
      return {};
  }
}

}  // namespace vessel::difftest

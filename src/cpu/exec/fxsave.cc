// FXSAVE/FXRSTOR (and the REX.W forms) through the shared image code
// (cpu/fpu_image.h), and LDMXCSR/STMXCSR.
#include "cpu/exec/x87_core.h"
#include "cpu/exec/x87_handlers.h"
#include "cpu/fpu_image.h"

namespace vessel::cpu {
namespace {

// #NM (EM, TS) and the 16-byte alignment #GP(0) of FXSAVE/FXRSTOR; false
// with the fault pending.
bool fx_checks(Cpu& c, const Insn& i, bool write, uint64_t* ea) {
  if (c.cr0 & (cr0::kEm | cr0::kTs)) return c.fault(kNm);
  *ea = c.effective_address(i);
  uint64_t linear;
  if (!c.linearize(i.seg, *ea, kFxsaveSize, write, &linear)) return false;
  if (linear & 15) return c.fault(kGp, 0);
  return true;
}

unsigned xmm_count(const Cpu& c) {
  return c.mode64() ? 16 : 8;
}

Flow fxsave(Cpu& c, const Insn& i) {
  uint64_t ea = 0;
  if (!fx_checks(c, i, true, &ea)) return Flow::kFault;
  uint8_t image[kFxsaveSize];
  fxsave_image(c.fpu, image, i.op == 1, xmm_count(c));
  // Bytes past the last XMM register (reserved, and 464-511 available to
  // software) are not written.
  unsigned used = 160 + 16 * xmm_count(c);
  return x87::write_bytes(c, i.seg, ea, image, used) ? Flow::kNext : Flow::kFault;
}

Flow fxrstor(Cpu& c, const Insn& i) {
  uint64_t ea = 0;
  if (!fx_checks(c, i, false, &ea)) return Flow::kFault;
  uint8_t image[kFxsaveSize];
  if (!x87::read_bytes(c, i.seg, ea, image, kFxsaveSize)) return Flow::kFault;
  if (!fxrstor_image(c.fpu, image, i.op == 1, xmm_count(c))) return c.raise(kGp, 0);
  return Flow::kNext;
}

bool mxcsr_checks(Cpu& c) {
  if ((c.cr0 & cr0::kEm) || !(c.cr4 & cr4::kOsfxsr)) return c.fault(kUd);
  if (c.cr0 & cr0::kTs) return c.fault(kNm);
  return true;
}

Flow ldmxcsr(Cpu& c, const Insn& i) {
  if (!mxcsr_checks(c)) return Flow::kFault;
  uint64_t v;
  if (!c.read(i.seg, c.effective_address(i), 4, &v)) return Flow::kFault;
  if (v & ~uint64_t{kMxcsrMask}) return c.raise(kGp, 0);
  c.fpu.mxcsr = static_cast<uint32_t>(v);
  return Flow::kNext;
}

Flow stmxcsr(Cpu& c, const Insn& i) {
  if (!mxcsr_checks(c)) return Flow::kFault;
  return c.write(i.seg, c.effective_address(i), 4, c.fpu.mxcsr) ? Flow::kNext : Flow::kFault;
}

}  // namespace

const Handler kFxsave = fxsave, kFxrstor = fxrstor, kLdmxcsr = ldmxcsr, kStmxcsr = stmxcsr;

}  // namespace vessel::cpu

// XSAVE/XSAVEOPT/XRSTOR (standard form, REX.W forms) for the two state
// components this CPU has, x87 (XCR0 bit 0) and SSE (bit 1), and
// XGETBV/XSETBV (SDM Vol. 1, 13). The legacy region is the FXSAVE image of
// cpu/fpu_image.h; the XSAVE header follows at byte 512.
#include "cpu/exec/x87_core.h"
#include "cpu/exec/x87_handlers.h"
#include "cpu/fpu_image.h"

namespace vessel::cpu {
namespace {

constexpr uint64_t kX87 = 1, kSse = 2;
constexpr unsigned kHeader = 512, kAreaSize = 576;

unsigned xmm_count(const Cpu& c) {
  return c.mode64() ? 16 : 8;
}

uint64_t requested(const Cpu& c) {
  return c.xcr0 & ((c.gpr[kRdx] << 32) | (c.gpr[kRax] & 0xFFFFFFFF));
}

// #UD without CR4.OSXSAVE, #NM with CR0.TS, #GP(0) unless 64-byte aligned.
bool checks(Cpu& c, const Insn& i, bool write, uint64_t* ea) {
  if (!(c.cr4 & cr4::kOsxsave)) return c.fault(kUd);
  if (c.cr0 & cr0::kTs) return c.fault(kNm);
  *ea = c.effective_address(i);
  uint64_t linear;
  if (!c.linearize(i.seg, *ea, kAreaSize, write, &linear)) return false;
  if (linear & 63) return c.fault(kGp, 0);
  return true;
}

Flow xsave(Cpu& c, const Insn& i) {
  uint64_t ea = 0;
  if (!checks(c, i, true, &ea)) return Flow::kFault;
  uint64_t rfbm = requested(c);
  uint64_t bv;
  if (!c.read(i.seg, ea + kHeader, 8, &bv)) return Flow::kFault;
  if (!x87::probe_write(c, i.seg, ea, kHeader + 8)) return Flow::kFault;
  uint8_t image[kFxsaveSize];
  fxsave_image(c.fpu, image, i.op == 1, xmm_count(c));
  bool ok = true;
  if (rfbm & kX87) {
    ok = ok && x87::write_bytes(c, i.seg, ea, image, 24);
    ok = ok && x87::write_bytes(c, i.seg, ea + 32, image + 32, 128);
  }
  if (rfbm & kSse) {
    ok = ok && x87::write_bytes(c, i.seg, ea + 24, image + 24, 8);  // MXCSR, MXCSR_MASK
    ok = ok && x87::write_bytes(c, i.seg, ea + 160, image + 160, 16 * xmm_count(c));
  }
  // Saved components are marked as holding state (never the init optimisation).
  ok = ok && c.write(i.seg, ea + kHeader, 8, (bv & ~rfbm) | rfbm);
  return ok ? Flow::kNext : Flow::kFault;
}

Flow xrstor(Cpu& c, const Insn& i) {
  uint64_t ea = 0;
  if (!checks(c, i, false, &ea)) return Flow::kFault;
  uint8_t image[kAreaSize];
  if (!x87::read_bytes(c, i.seg, ea, image, kAreaSize)) return Flow::kFault;
  uint64_t bv = load_le(image + kHeader, 8);
  // Standard form only: XCOMP_BV and the rest of header bytes 8-23 are zero.
  if (load_le(image + kHeader + 8, 8) != 0 || load_le(image + kHeader + 16, 8) != 0)
    return c.raise(kGp, 0);
  if (bv & ~c.xcr0) return c.raise(kGp, 0);
  uint64_t rfbm = requested(c);
  if (!(rfbm & kSse)) store_le(image + 24, 4, c.fpu.mxcsr);  // MXCSR is not loaded
  FpuState loaded = c.fpu;
  if (!fxrstor_image(loaded, image, i.op == 1, xmm_count(c))) return c.raise(kGp, 0);
  const FpuState init;
  if (rfbm & kX87) c.fpu.x87 = (bv & kX87) ? loaded.x87 : init.x87;
  if (rfbm & kSse) {
    for (unsigned k = 0; k < xmm_count(c); ++k)
      c.fpu.xmm[k] = (bv & kSse) ? loaded.xmm[k] : init.xmm[k];
    c.fpu.mxcsr = loaded.mxcsr;
  }
  return Flow::kNext;
}

Flow xgetbv(Cpu& c, const Insn&) {
  if (!(c.cr4 & cr4::kOsxsave)) return c.raise(kUd);
  if ((c.gpr[kRcx] & 0xFFFFFFFF) != 0) return c.raise(kGp, 0);
  c.set_reg(kRax, 4, c.xcr0 & 0xFFFFFFFF);
  c.set_reg(kRdx, 4, c.xcr0 >> 32);
  return Flow::kNext;
}

Flow xsetbv(Cpu& c, const Insn&) {
  if (!(c.cr4 & cr4::kOsxsave)) return c.raise(kUd);
  if (c.cpl() != 0 || (c.gpr[kRcx] & 0xFFFFFFFF) != 0) return c.raise(kGp, 0);
  uint64_t v = (c.gpr[kRdx] << 32) | (c.gpr[kRax] & 0xFFFFFFFF);
  if (!(v & kX87) || (v & ~kXcr0Supported)) return c.raise(kGp, 0);
  c.xcr0 = v;
  return Flow::kNext;
}

}  // namespace

const Handler kXsave = xsave, kXrstor = xrstor, kXgetbv = xgetbv, kXsetbv = xsetbv;

}  // namespace vessel::cpu

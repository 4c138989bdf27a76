// x87 control instructions: FNINIT, FNCLEX, FLDCW/FNSTCW, FNSTSW, FNSTENV/
// FLDENV, FNSAVE/FRSTOR (14/28-byte environment in the real-mode or
// protected-mode layout of SDM Vol. 1, 8.1.10), FWAIT and the 287 no-ops.
#include "cpu/exec/x87_core.h"
#include "cpu/exec/x87_handlers.h"

namespace vessel::cpu {
namespace {

using namespace x87;

void init(X87State& s) {
  s = X87State{};
}

// Sets ES/B from the exception flags and the masks (after FLDCW/FLDENV).
void update_summary(X87State& s) {
  if (s.fsw & ~s.fcw & sw::kExceptions)
    s.fsw |= sw::kEs | sw::kB;
  else
    s.fsw &= ~(sw::kEs | sw::kB);
}

uint16_t control_word(uint16_t v) {
  return static_cast<uint16_t>((v & 0x1F3F) | 0x0040);
}

bool real_layout(const Cpu& c) {
  return !c.protected_mode() || (c.rflags_system() & rflags::kVm);
}

unsigned env_size(const Insn& i) {
  return i.opsize == 2 ? 14 : 28;
}

void put16(uint8_t* p, unsigned off, uint64_t v) {
  store_le(p + off, 2, v);
}
void put32(uint8_t* p, unsigned off, uint64_t v) {
  store_le(p + off, 4, v);
}

void store_env(const Cpu& c, const Insn& i, uint8_t* out) {
  const X87State& s = c.fpu.x87;
  std::memset(out, 0, 28);
  bool real = real_layout(c);
  uint16_t ftw = x87_full_tag_word(s);
  if (i.opsize == 2) {
    put16(out, 0, s.fcw);
    put16(out, 2, s.fsw);
    put16(out, 4, ftw);
    put16(out, 6, s.fip);
    put16(out, 10, s.fdp);
    if (real) {
      put16(out, 8, (s.fop & 0x7FF) | (((s.fip >> 16) & 0xF) << 12));
      put16(out, 12, ((s.fdp >> 16) & 0xF) << 12);
    } else {
      put16(out, 8, s.fcs);
      put16(out, 12, s.fds);
    }
    return;
  }
  // Reserved upper halves read as ones, as the hardware stores them.
  constexpr uint32_t kOnes = 0xFFFF0000;
  put32(out, 0, kOnes | s.fcw);
  put32(out, 4, kOnes | s.fsw);
  put32(out, 8, kOnes | ftw);
  if (real) {
    put32(out, 12, kOnes | (s.fip & 0xFFFF));
    put32(out, 16, (s.fop & 0x7FF) | (((s.fip >> 16) & 0xFFFF) << 12));
    put32(out, 20, kOnes | (s.fdp & 0xFFFF));
    put32(out, 24, ((s.fdp >> 16) & 0xFFFF) << 12);
  } else {
    put32(out, 12, s.fip);
    put32(out, 16, s.fcs | (uint32_t{s.fop} << 16));
    put32(out, 20, s.fdp);
    put32(out, 24, kOnes | s.fds);
  }
}

void load_env(Cpu& c, const Insn& i, const uint8_t* in) {
  X87State& s = c.fpu.x87;
  bool real = real_layout(c);
  uint16_t ftw;
  if (i.opsize == 2) {
    s.fcw = control_word(static_cast<uint16_t>(load_le(in, 2)));
    s.fsw = static_cast<uint16_t>(load_le(in + 2, 2));
    ftw = static_cast<uint16_t>(load_le(in + 4, 2));
    uint64_t w8 = load_le(in + 8, 2), w12 = load_le(in + 12, 2);
    s.fip = load_le(in + 6, 2);
    s.fdp = load_le(in + 10, 2);
    if (real) {
      s.fop = w8 & 0x7FF;
      s.fip |= (w8 >> 12) << 16;
      s.fdp |= (w12 >> 12) << 16;
      s.fcs = s.fds = 0;
    } else {
      s.fcs = static_cast<uint16_t>(w8);
      s.fds = static_cast<uint16_t>(w12);
    }
  } else {
    s.fcw = control_word(static_cast<uint16_t>(load_le(in, 2)));
    s.fsw = static_cast<uint16_t>(load_le(in + 4, 2));
    ftw = static_cast<uint16_t>(load_le(in + 8, 2));
    uint64_t d12 = load_le(in + 12, 4), d16 = load_le(in + 16, 4);
    uint64_t d20 = load_le(in + 20, 4), d24 = load_le(in + 24, 4);
    if (real) {
      s.fip = (d12 & 0xFFFF) | (((d16 >> 12) & 0xFFFF) << 16);
      s.fop = d16 & 0x7FF;
      s.fdp = (d20 & 0xFFFF) | (((d24 >> 12) & 0xFFFF) << 16);
      s.fcs = s.fds = 0;
    } else {
      s.fip = d12;
      s.fcs = static_cast<uint16_t>(d16);
      s.fop = (d16 >> 16) & 0x7FF;
      s.fdp = d20;
      s.fds = static_cast<uint16_t>(d24);
    }
  }
  // Only empty / non-empty is taken from the image; the rest follows the contents.
  s.ftw = ftw;
  s.ftw = x87_full_tag_word(s);
}

Flow fninit(Cpu& c, const Insn&) {
  if (!begin(c, false)) return Flow::kFault;
  init(c.fpu.x87);
  return Flow::kNext;
}

Flow fnclex(Cpu& c, const Insn&) {
  if (!begin(c, false)) return Flow::kFault;
  c.fpu.x87.fsw &= ~(sw::kExceptions | sw::kSf | sw::kEs | sw::kB);
  return Flow::kNext;
}

Flow fldcw(Cpu& c, const Insn& i) {
  if (!begin(c, true)) return Flow::kFault;
  uint64_t v;
  if (!c.read(i.seg, c.effective_address(i), 2, &v)) return Flow::kFault;
  X87State& s = c.fpu.x87;
  s.fcw = control_word(static_cast<uint16_t>(v));
  update_summary(s);
  return Flow::kNext;
}

Flow fnstcw(Cpu& c, const Insn& i) {
  if (!begin(c, false)) return Flow::kFault;
  return c.write(i.seg, c.effective_address(i), 2, c.fpu.x87.fcw) ? Flow::kNext : Flow::kFault;
}

Flow fnstsw_mem(Cpu& c, const Insn& i) {
  if (!begin(c, false)) return Flow::kFault;
  return c.write(i.seg, c.effective_address(i), 2, c.fpu.x87.fsw) ? Flow::kNext : Flow::kFault;
}

Flow fnstsw_ax(Cpu& c, const Insn&) {
  if (!begin(c, false)) return Flow::kFault;
  c.set_reg(kRax, 2, c.fpu.x87.fsw);
  return Flow::kNext;
}

Flow fnstenv(Cpu& c, const Insn& i) {
  if (!begin(c, false)) return Flow::kFault;
  uint8_t env[28];
  store_env(c, i, env);
  if (!write_bytes(c, i.seg, c.effective_address(i), env, env_size(i))) return Flow::kFault;
  c.fpu.x87.fcw |= sw::kExceptions;  // FNSTENV masks all exceptions
  return Flow::kNext;
}

Flow fldenv(Cpu& c, const Insn& i) {
  if (!begin(c, true)) return Flow::kFault;
  uint8_t env[28];
  if (!read_bytes(c, i.seg, c.effective_address(i), env, env_size(i))) return Flow::kFault;
  load_env(c, i, env);
  return Flow::kNext;
}

Flow fnsave(Cpu& c, const Insn& i) {
  if (!begin(c, false)) return Flow::kFault;
  uint8_t image[28 + 80];
  store_env(c, i, image);
  unsigned n = env_size(i);
  const X87State& s = c.fpu.x87;
  for (unsigned k = 0; k < 8; ++k) {
    store_le(image + n + 10 * k, 8, st(s, k).significand);
    store_le(image + n + 10 * k + 8, 2, st(s, k).sign_exponent);
  }
  if (!write_bytes(c, i.seg, c.effective_address(i), image, n + 80)) return Flow::kFault;
  init(c.fpu.x87);
  return Flow::kNext;
}

Flow frstor(Cpu& c, const Insn& i) {
  if (!begin(c, true)) return Flow::kFault;
  uint8_t image[28 + 80];
  unsigned n = env_size(i);
  if (!read_bytes(c, i.seg, c.effective_address(i), image, n + 80)) return Flow::kFault;
  X87State& s = c.fpu.x87;
  unsigned t = (load_le(image + (n == 14 ? 2 : 4), 2) >> 11) & 7;
  for (unsigned k = 0; k < 8; ++k) {
    Float80& f = s.regs[(t + k) & 7];
    f.significand = load_le(image + n + 10 * k, 8);
    f.sign_exponent = static_cast<uint16_t>(load_le(image + n + 10 * k + 8, 2));
  }
  load_env(c, i, image);
  return Flow::kNext;
}

Flow fwait(Cpu& c, const Insn&) {
  if ((c.cr0 & cr0::kTs) && (c.cr0 & cr0::kMp)) return c.raise(kNm);
  if ((c.fpu.x87.fsw & sw::kEs) && (c.cr0 & cr0::kNe)) return c.raise(kMf);
  return Flow::kNext;
}

Flow nowait_nop(Cpu& c, const Insn&) {
  return begin(c, false) ? Flow::kNext : Flow::kFault;
}

}  // namespace

const Handler kX87Fninit = fninit, kX87Fnclex = fnclex, kX87Fldcw = fldcw, kX87Fnstcw = fnstcw,
              kX87FnstswMem = fnstsw_mem, kX87FnstswAx = fnstsw_ax, kX87Fnstenv = fnstenv,
              kX87Fldenv = fldenv, kX87Fnsave = fnsave, kX87Frstor = frstor, kX87Fwait = fwait,
              kX87NoWaitNop = nowait_nop;

}  // namespace vessel::cpu

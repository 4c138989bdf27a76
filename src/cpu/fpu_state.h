// The floating-point and vector register file of the software CPU: the x87
// FPU (eight 80-bit registers, control/status/tag words, last-instruction
// pointers) and the SSE state (XMM0-15, MXCSR). Handlers live in
// cpu/exec/x87*.cc and cpu/exec/sse*.cc; FXSAVE/FXRSTOR and the CpuState
// conversion use the FXSAVE layout (SDM Vol. 1, 10.5.1).
#pragma once

#include <array>
#include <cstdint>

namespace vessel::cpu {

// An x87 register: 64-bit significand (explicit integer bit) and sign+15-bit
// exponent, the double-extended format of SDM Vol. 1, 4.2.2.
struct Float80 {
  uint64_t significand = 0;
  uint16_t sign_exponent = 0;
  bool operator==(const Float80&) const = default;
};

// A 128-bit XMM register, little-endian lanes.
union alignas(16) Xmm {
  uint8_t b[16];
  uint16_t w[8];
  uint32_t d[4];
  uint64_t q[2];
  float f[4];
  double f64[2];
};

struct X87State {
  std::array<Float80, 8> regs{};  // physical registers R0-R7; ST(i) is R((TOP + i) & 7)
  uint16_t fcw = 0x037F;          // control word (FNINIT value)
  uint16_t fsw = 0;               // status word; TOP in bits 13-11
  uint16_t ftw = 0xFFFF;          // full tag word, 2 bits per physical register (11 = empty)
  uint16_t fop = 0;               // last opcode (11 bits)
  uint64_t fip = 0, fdp = 0;      // last instruction and operand pointers
  uint16_t fcs = 0, fds = 0;
};

struct FpuState {
  X87State x87;
  std::array<Xmm, 16> xmm{};
  uint32_t mxcsr = 0x1F80;  // all exceptions masked, round to nearest
};

}  // namespace vessel::cpu

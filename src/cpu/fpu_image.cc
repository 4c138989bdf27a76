#include "cpu/fpu_image.h"

#include <cstring>

namespace vessel::cpu {
namespace {

template <typename T>
void put(uint8_t* p, unsigned offset, T v) {
  std::memcpy(p + offset, &v, sizeof(T));
}
template <typename T>
T get(const uint8_t* p, unsigned offset) {
  T v;
  std::memcpy(&v, p + offset, sizeof(T));
  return v;
}

unsigned top_of(const X87State& s) {
  return (s.fsw >> 11) & 7;
}

}  // namespace

uint16_t x87_tag_of(const Float80& v) {
  unsigned exponent = v.sign_exponent & 0x7FFF;
  if (exponent == 0x7FFF) return 2;                      // NaN, infinity (and pseudo forms)
  if (exponent == 0) return v.significand == 0 ? 1 : 2;  // zero; denormal
  return (v.significand >> 63) ? 0 : 2;                  // normal; unnormal
}

uint16_t x87_full_tag_word(const X87State& s) {
  uint16_t ftw = 0;
  for (unsigned r = 0; r < 8; ++r) {
    uint16_t tag = ((s.ftw >> (2 * r)) & 3) == 3 ? 3 : x87_tag_of(s.regs[r]);
    ftw |= static_cast<uint16_t>(tag << (2 * r));
  }
  return ftw;
}

void fxsave_image(const FpuState& s, uint8_t* out, bool format64, unsigned xmm_count) {
  std::memset(out, 0, kFxsaveSize);
  const X87State& x = s.x87;
  put<uint16_t>(out, 0, x.fcw);
  put<uint16_t>(out, 2, x.fsw);
  uint8_t abridged = 0;
  for (unsigned r = 0; r < 8; ++r)
    if (((x.ftw >> (2 * r)) & 3) != 3) abridged |= static_cast<uint8_t>(1u << r);
  out[4] = abridged;
  put<uint16_t>(out, 6, x.fop & 0x7FF);
  if (format64) {
    put<uint64_t>(out, 8, x.fip);
    put<uint64_t>(out, 16, x.fdp);
  } else {
    put<uint32_t>(out, 8, static_cast<uint32_t>(x.fip));
    put<uint16_t>(out, 12, x.fcs);
    put<uint32_t>(out, 16, static_cast<uint32_t>(x.fdp));
    put<uint16_t>(out, 20, x.fds);
  }
  put<uint32_t>(out, 24, s.mxcsr);
  put<uint32_t>(out, 28, kMxcsrMask);
  unsigned top = top_of(x);
  for (unsigned i = 0; i < 8; ++i) {  // ST(0)..ST(7), in stack order
    const Float80& f = x.regs[(top + i) & 7];
    put<uint64_t>(out, 32 + 16 * i, f.significand);
    put<uint16_t>(out, 32 + 16 * i + 8, f.sign_exponent);
  }
  for (unsigned i = 0; i < xmm_count && i < 16; ++i)
    std::memcpy(out + 160 + 16 * i, s.xmm[i].b, 16);
}

bool fxrstor_image(FpuState& s, const uint8_t* in, bool format64, unsigned xmm_count) {
  uint32_t mxcsr = get<uint32_t>(in, 24);
  if (mxcsr & ~kMxcsrMask) return false;
  X87State& x = s.x87;
  x.fcw = get<uint16_t>(in, 0);
  x.fsw = get<uint16_t>(in, 2);
  x.fop = get<uint16_t>(in, 6) & 0x7FF;
  if (format64) {
    x.fip = get<uint64_t>(in, 8);
    x.fdp = get<uint64_t>(in, 16);
    x.fcs = x.fds = 0;
  } else {
    x.fip = get<uint32_t>(in, 8);
    x.fcs = get<uint16_t>(in, 12);
    x.fdp = get<uint32_t>(in, 16);
    x.fds = get<uint16_t>(in, 20);
  }
  s.mxcsr = mxcsr;
  unsigned top = top_of(x);
  for (unsigned i = 0; i < 8; ++i) {
    Float80& f = x.regs[(top + i) & 7];
    f.significand = get<uint64_t>(in, 32 + 16 * i);
    f.sign_exponent = get<uint16_t>(in, 32 + 16 * i + 8);
  }
  uint8_t abridged = in[4];
  x.ftw = 0;
  for (unsigned r = 0; r < 8; ++r) {
    uint16_t tag = (abridged >> r) & 1 ? x87_tag_of(x.regs[r]) : 3;
    x.ftw |= static_cast<uint16_t>(tag << (2 * r));
  }
  for (unsigned i = 0; i < xmm_count && i < 16; ++i) std::memcpy(s.xmm[i].b, in + 160 + 16 * i, 16);
  return true;
}

}  // namespace vessel::cpu

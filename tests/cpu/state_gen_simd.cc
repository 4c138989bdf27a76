// Input states for the SSE forms (Hint::kSimd): XMM registers and the memory
// operand hold lanes of special floats and doubles (zeros, infinities, quiet
// and signalling NaNs, denormals, integer-conversion limits), integer edge
// values of each lane width, random bits, or a copy of another register; the
// memory operand is 16-byte aligned in 7 of 8 cases. The string compares get
// short strings (a small alphabet with zero terminators) and lengths in
// RAX/RDX around -20..20.
#include <cstring>

#include "state_gen.h"

namespace vessel::difftest {
namespace {

constexpr uint32_t kFloats[] = {
    0x00000000, 0x80000000, 0x3F800000, 0xBFC00000, 0x40200000, 0xC0200000, 0x7F800000, 0xFF800000,
    0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FA00000, 0x00000001, 0x807FFFFF, 0x00800000, 0x7F7FFFFF,
    0x4F000000, 0xCF000000, 0x5F000000, 0xDF000000, 0x3F000000, 0x4EFFFFFF, 0x501502F9, 0x3EAAAAAB,
};
constexpr uint64_t kDoubles[] = {
    0x0000000000000000, 0x8000000000000000, 0x3FF0000000000000, 0xBFF8000000000000,
    0x4004000000000000, 0xC004000000000000, 0x7FF0000000000000, 0xFFF0000000000000,
    0x7FF8000000000000, 0xFFF8000000000000, 0x7FF0000000000001, 0x7FF4000000000000,
    0x0000000000000001, 0x800FFFFFFFFFFFFF, 0x0010000000000000, 0x7FEFFFFFFFFFFFFF,
    0x41E0000000000000, 0xC1E0000000000000, 0x43E0000000000000, 0xC3E0000000000000,
    0x3FE0000000000000, 0x41DFFFFFFFC00000, 0x36A0000000000000, 0x3FD5555555555555,
};

bool is_string_compare(ZydisMnemonic m) {
  return m == ZYDIS_MNEMONIC_PCMPESTRI || m == ZYDIS_MNEMONIC_PCMPESTRM ||
         m == ZYDIS_MNEMONIC_PCMPISTRI || m == ZYDIS_MNEMONIC_PCMPISTRM;
}

template <typename T>
void put_lane(uint8_t* v, unsigned k, T x) {
  std::memcpy(v + k * sizeof(T), &x, sizeof(T));
}

// 16 bytes of an interesting vector.
void simd_value(Rng& rng, uint8_t* v) {
  switch (rng.below(7)) {
    case 0:
    case 1:
      for (unsigned k = 0; k < 4; ++k)
        put_lane<uint32_t>(v, k,
                           rng.below(4) == 0 ? static_cast<uint32_t>(rng.next())
                                             : kFloats[rng.below(std::size(kFloats))]);
      break;
    case 2:
    case 3:
      for (unsigned k = 0; k < 2; ++k)
        put_lane<uint64_t>(
            v, k, rng.below(4) == 0 ? rng.next() : kDoubles[rng.below(std::size(kDoubles))]);
      break;
    case 4: {
      static constexpr uint8_t kBytes[] = {0, 1, 0x7F, 0x80, 0x81, 0xFF, 0xFE};
      for (unsigned k = 0; k < 16; ++k)
        v[k] = rng.below(3) == 0 ? static_cast<uint8_t>(rng.next())
                                 : kBytes[rng.below(std::size(kBytes))];
      break;
    }
    case 5:
      for (unsigned k = 0; k < 4; ++k)
        put_lane<uint32_t>(v, k, static_cast<uint32_t>(interesting_value(rng)));
      break;
    default:
      for (unsigned k = 0; k < 2; ++k) put_lane<uint64_t>(v, k, interesting_value(rng));
      break;
  }
}

// A short string: bytes or words from a small alphabet, a terminator now and then.
void string_value(Rng& rng, uint8_t* v) {
  static constexpr uint16_t kAlphabet[] = {'a', 'b', 'c', 'z', 0x80, 0xFF, 0x7F, 0x8000, 0xFFFF};
  bool words = rng.below(2) == 0;
  unsigned n = words ? 8 : 16;
  unsigned zero_at = rng.below(4) == 0 ? n : static_cast<unsigned>(rng.below(n + 1));
  for (unsigned k = 0; k < n; ++k) {
    uint16_t c = kAlphabet[rng.below(std::size(kAlphabet))];
    if (rng.below(8) == 0) c = static_cast<uint16_t>(rng.next());
    if (k == zero_at || rng.below(24) == 0) c = 0;
    if (words)
      put_lane<uint16_t>(v, k, c);
    else
      v[k] = static_cast<uint8_t>(c);
  }
}

uint64_t string_length(Rng& rng) {
  switch (rng.below(4)) {
    case 0:
      return interesting_value(rng);
    case 1:  // garbage above bit 31, which only REX.W forms read
      return (rng.next() << 32) | static_cast<uint32_t>(static_cast<int32_t>(rng.below(41)) - 20);
    default:
      return static_cast<uint64_t>(static_cast<int64_t>(rng.below(41)) - 20);
  }
}

}  // namespace

void shape_simd_state(const Form& form, Rng& rng, UserState& s) {
  bool strings = is_string_compare(form.mnemonic);
  uint8_t v[16];
  for (unsigned r = 0; r < 16; ++r) {
    if (r > 0 && rng.below(6) == 0) {  // equal to another register
      s.xmm[r] = s.xmm[rng.below(r)];
      continue;
    }
    if (strings)
      string_value(rng, v);
    else
      simd_value(rng, v);
    std::memcpy(&s.xmm[r].lo, v, 8);
    std::memcpy(&s.xmm[r].hi, v + 8, 8);
  }
  if (strings) {
    s.gpr[kRax] = string_length(rng);
    s.gpr[kRdx] = string_length(rng);
  }
  if (form.mem_gpr < 0) return;
  uint64_t& base = s.gpr[form.mem_gpr];
  uint64_t disp = static_cast<uint64_t>(form.mem_disp);
  if (rng.below(8) != 0) base = ((base + disp) & ~15ull) - disp;
  uint64_t ea = base + disp;
  if (ea < kDataAddr || ea + 16 > kDataAddr + kDataSize) return;
  if (form.mnemonic == ZYDIS_MNEMONIC_LDMXCSR) {
    // A legal value in 3 of 4 states, else random bits (mostly #GP), never
    // bit 17: AMD hosts with misaligned SSE accept it (MXCSR.MM), the soft
    // CPU (no such mode) raises #GP.
    uint32_t m;
    std::memcpy(&m, &s.data[ea - kDataAddr], 4);
    if (rng.below(4) != 0) m = random_mxcsr(rng);
    m &= ~(1u << 17);
    std::memcpy(&s.data[ea - kDataAddr], &m, 4);
    return;
  }
  if (rng.below(4) == 0) {  // the same as a register
    const Xmm& x = s.xmm[rng.below(16)];
    std::memcpy(&s.data[ea - kDataAddr], &x.lo, 8);
    std::memcpy(&s.data[ea - kDataAddr + 8], &x.hi, 8);
    return;
  }
  if (strings)
    string_value(rng, v);
  else
    simd_value(rng, v);
  std::memcpy(&s.data[ea - kDataAddr], v, 16);
}

}  // namespace vessel::difftest

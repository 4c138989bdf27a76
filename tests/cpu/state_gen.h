// Seeded, reproducible input states for a form: registers and memory from a
// mix of interesting values (0, 1, -1, sign bits, powers of two, all-ones of
// each width) and random ones, pointer registers aimed into the data area,
// and per-form shaping (small REP counts, shift counts, dividends that fit).
#pragma once

#include <cstdint>

#include "form.h"
#include "user_state.h"

namespace vessel::difftest {

// splitmix64: small, fast, and the same sequence everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }

 private:
  uint64_t s_;
};

// A value with something interesting in its low 8, 16, 32 or 64 bits.
uint64_t interesting_value(Rng& rng);

struct TestCase {
  UserState state;
  int64_t imm = 0;  // the form's immediate (when it has one)
};

TestCase make_case(const Form& form, Rng& rng);

// MXCSR: a random rounding mode, DAZ and FTZ; random sticky flags in half the
// states; all exceptions masked in 3 of 4 states, a random set of IM, DM,
// ZM and PM unmasked in the others (an unmasked exception is #XM on both
// sides). OM and UM stay set: the soft CPU does not model the unmasked
// overflow/underflow responses (UE on exact tiny results, PE from the
// unbounded-exponent rounding).
uint32_t random_mxcsr(Rng& rng);

// Hint::kSimd (state_gen_simd.cc): reshapes the XMM registers, the memory
// operand and, for the string compares, RAX/RDX of `s`.
void shape_simd_state(const Form& form, Rng& rng, UserState& s);

}  // namespace vessel::difftest

// Lazy condition flags. An ALU instruction stores its result and a vector of
// carry-out bits (two stores); each arithmetic flag is derived only when read:
//   CF = carry out of the top bit        = cout[n-1]
//   OF = carry into ^ carry out of top   = cout[n-1] ^ cout[n-2]
//   AF = carry out of bit 3              = cout[3]
//   ZF, SF, PF from the result.
// Instructions that define flags another way (shifts, multiply, POPF) encode
// their CF/OF/AF into the same vector, or materialize all six flags.
#pragma once

#include <bit>
#include <cstdint>

#include "cpu/registers.h"

namespace vessel::cpu {

struct JitAccess;

inline constexpr uint64_t size_mask(unsigned bytes) {
  return bytes >= 8 ? ~0ull : (1ull << (bytes * 8)) - 1;
}

class LazyFlags {
 public:
  // The flags of `result` of width `bytes` with carry-out vector `cout`.
  void set(uint64_t result, uint64_t cout, unsigned bytes) {
    result_ = result;
    cout_ = cout;
    bits_ = static_cast<uint8_t>(bytes * 8);
    lazy_ = true;
  }
  void set_add(uint64_t a, uint64_t b, uint64_t r, unsigned bytes) {
    set(r, (a & b) | ((a | b) & ~r), bytes);
  }
  void set_sub(uint64_t a, uint64_t b, uint64_t r, unsigned bytes) {
    set(r, (~a & b) | ((~a | b) & r), bytes);
  }
  void set_logic(uint64_t r, unsigned bytes) { set(r, 0, bytes); }
  // Result flags (ZF/SF/PF from r) with explicit CF, OF and AF.
  void set_explicit(uint64_t r, unsigned bytes, bool cf, bool of, bool af = false) {
    unsigned n = bytes * 8;
    uint64_t cout =
        (uint64_t{cf} << (n - 1)) | (uint64_t{cf != of} << (n - 2)) | (uint64_t{af} << 3);
    set(r, cout, bytes);
  }

  bool cf() const { return lazy_ ? (cout_ >> (bits_ - 1)) & 1 : flags_ & rflags::kCf; }
  bool of() const {
    return lazy_ ? ((cout_ >> (bits_ - 1)) ^ (cout_ >> (bits_ - 2))) & 1 : flags_ & rflags::kOf;
  }
  bool af() const { return lazy_ ? (cout_ >> 3) & 1 : flags_ & rflags::kAf; }
  bool zf() const { return lazy_ ? (result_ & size_mask(bits_ / 8)) == 0 : flags_ & rflags::kZf; }
  bool sf() const { return lazy_ ? (result_ >> (bits_ - 1)) & 1 : flags_ & rflags::kSf; }
  bool pf() const {
    return lazy_ ? (std::popcount(static_cast<uint8_t>(result_)) & 1) == 0 : flags_ & rflags::kPf;
  }

  // The six arithmetic flags as RFLAGS bits.
  uint64_t get() const {
    if (!lazy_) return flags_ & rflags::kArith;
    return (cf() ? rflags::kCf : 0) | (pf() ? rflags::kPf : 0) | (af() ? rflags::kAf : 0) |
           (zf() ? rflags::kZf : 0) | (sf() ? rflags::kSf : 0) | (of() ? rflags::kOf : 0);
  }
  // Replaces the arithmetic flags with the given RFLAGS bits.
  void put(uint64_t rflags_bits) {
    flags_ = rflags_bits & rflags::kArith;
    lazy_ = false;
  }
  // Sets or clears individual flags (materializes first).
  void assign(uint64_t mask, bool value) {
    uint64_t f = get();
    put(value ? f | mask : f & ~mask);
  }
  // Keeps CF as it was while taking everything else from an ADD/SUB of width
  // `bytes` (INC and DEC).
  void set_keep_cf(uint64_t result, uint64_t cout, unsigned bytes) {
    bool old_cf = cf();
    unsigned n = bytes * 8;
    bool of = ((cout >> (n - 1)) ^ (cout >> (n - 2))) & 1;
    cout &= ~((1ull << (n - 1)) | (1ull << (n - 2)));
    cout |= (uint64_t{old_cf} << (n - 1)) | (uint64_t{old_cf != of} << (n - 2));
    set(result, cout, bytes);
  }

 private:
  friend struct JitAccess;  // translated code reads and writes the fields (jit/)
  uint64_t result_ = 0;
  uint64_t cout_ = 0;
  // When not lazy: the arithmetic flags (other bits may be set: translated
  // code stores the host's whole RFLAGS here).
  uint64_t flags_ = 0;
  uint8_t bits_ = 8;
  bool lazy_ = false;
};

}  // namespace vessel::cpu

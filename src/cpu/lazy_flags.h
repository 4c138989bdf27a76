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
  bool of() const { return lazy_ ? ((cout_ >> (bits_ - 1)) ^ (cout_ >> (bits_ - 2))) & 1 : of_; }
  bool af() const { return lazy_ ? (cout_ >> 3) & 1 : flags_ & rflags::kAf; }
  bool zf() const { return lazy_ ? (result_ & size_mask(bits_ / 8)) == 0 : flags_ & rflags::kZf; }
  bool sf() const { return lazy_ ? (result_ >> (bits_ - 1)) & 1 : flags_ & rflags::kSf; }
  bool pf() const {
    return lazy_ ? (std::popcount(static_cast<uint8_t>(result_)) & 1) == 0 : flags_ & rflags::kPf;
  }

  // The six arithmetic flags as RFLAGS bits.
  uint64_t get() const {
    if (!lazy_) return (flags_ & kLowArith) | (of_ ? rflags::kOf : 0);
    return (cf() ? rflags::kCf : 0) | (pf() ? rflags::kPf : 0) | (af() ? rflags::kAf : 0) |
           (zf() ? rflags::kZf : 0) | (sf() ? rflags::kSf : 0) | (of() ? rflags::kOf : 0);
  }
  // Replaces the arithmetic flags with the given RFLAGS bits.
  void put(uint64_t rflags_bits) {
    flags_ = static_cast<uint8_t>(rflags_bits & kLowArith);
    of_ = (rflags_bits & rflags::kOf) != 0;
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
  // The arithmetic flags other than OF (all in RFLAGS' low byte).
  static constexpr uint64_t kLowArith = rflags::kArith & ~rflags::kOf;
  static_assert(kLowArith <= 0xFF);

  uint64_t result_ = 0;
  uint64_t cout_ = 0;
  // When not lazy: OF (0 or 1), then the other five as RFLAGS' low byte
  // (bits 1, 3 and 5 are ignored). Translated code stores both with one
  // 16-bit store, AL = SETO and AH = LAHF, and loads them the same way.
  uint8_t of_ = 0;
  uint8_t flags_ = 0;
  uint8_t bits_ = 8;
  bool lazy_ = false;
};

}  // namespace vessel::cpu

#include "state_gen.h"

#include <cassert>
#include <cstring>

namespace vessel::difftest {
namespace {

int64_t sign_extend(uint64_t v, int bits) {
  if (bits >= 64) return static_cast<int64_t>(v);
  uint64_t m = 1ull << (bits - 1);
  v &= (1ull << bits) - 1;
  return static_cast<int64_t>((v ^ m) - m);
}

uint64_t low_mask(int bits) {
  return bits >= 64 ? ~0ull : (1ull << bits) - 1;
}

// Interesting values of a given width.
uint64_t special(Rng& rng, int bits) {
  uint64_t sign = 1ull << (bits - 1);
  switch (rng.below(10)) {
    case 0:
      return 0;
    case 1:
      return 1;
    case 2:
      return low_mask(bits);  // -1
    case 3:
      return sign;  // most negative
    case 4:
      return sign - 1;  // most positive
    case 5:
      return 1ull << rng.below(bits);  // a power of two
    case 6:
      return (1ull << rng.below(bits)) - 1;
    case 7:
      return low_mask(bits) - 1;  // -2
    case 8:
      return sign + 1;
    default:
      return rng.below(256);  // small
  }
}

int64_t shift_count(Rng& rng, int count_max) {
  if (count_max >= 0) {
    return static_cast<int64_t>(rng.below(static_cast<uint64_t>(count_max) + 1) +
                                32 * rng.below(8));
  }
  static constexpr uint8_t kCounts[] = {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65};
  if (rng.below(4) == 0) return static_cast<int64_t>(rng.below(256));
  return kCounts[rng.below(sizeof(kCounts))];
}

uint64_t pointer(Rng& rng) {
  uint64_t off = 0x100 + rng.below(0xD00);
  if (rng.below(2) == 0) off &= ~7ull;
  return kDataAddr + off;
}

uint64_t read64(const UserState& s, uint64_t addr) {
  uint64_t v = 0;
  if (addr >= kDataAddr && addr + 8 <= kDataAddr + kDataSize) {
    memcpy(&v, &s.data[addr - kDataAddr], 8);
  }
  return v;
}

}  // namespace

uint64_t interesting_value(Rng& rng) {
  static constexpr int kWidths[] = {8, 16, 32, 64};
  if (rng.below(4) == 0) return rng.next();
  int bits = kWidths[rng.below(4)];
  uint64_t low = special(rng, bits);
  if (bits == 64) return low;
  switch (rng.below(3)) {
    case 0:
      return low;  // upper bits clear
    case 1:
      return low | ~low_mask(bits);  // upper bits set
    default:
      return low | (rng.next() & ~low_mask(bits));
  }
}

uint32_t random_mxcsr(Rng& rng) {
  uint32_t v = static_cast<uint32_t>(rng.next());
  uint32_t m = 0x1F80;
  m |= v & 0x6000;                                         // RC
  m |= v & 0x8040;                                         // FTZ, DAZ
  if (rng.below(2) == 0) m |= (v >> 16) & 0x3F;            // exception flags
  if (rng.below(4) == 0) m &= ~(((v >> 24) & 0x27) << 7);  // IM DM ZM PM, not OM UM
  return m;
}

// MM0-7: interesting values, random bits, or a copy of an XMM register's low half.
static void random_mmx(Rng& rng, UserState& s) {
  for (auto& mm : s.mm) {
    switch (rng.below(3)) {
      case 0:
        mm = interesting_value(rng);
        break;
      case 1:
        mm = s.xmm[rng.below(16)].lo;
        break;
      default:
        mm = rng.next();
        break;
    }
  }
}

TestCase make_case(const Form& form, Rng& rng) {
  TestCase tc;
  UserState& s = tc.state;
  for (auto& r : s.gpr) r = interesting_value(rng);
  s.gpr[kRsp] = kDataAddr + 0x1C00 - 8 * rng.below(32);
  s.rflags = (rng.next() & kUserFlags) | 0x2;
  s.rip = kInstrAddr;
  for (auto& x : s.xmm) x = Xmm{rng.next(), rng.next()};
  for (size_t i = 0; i < kDataSize; i += 8) {
    uint64_t v = rng.below(4) == 0 ? interesting_value(rng) : rng.next();
    memcpy(&s.data[i], &v, 8);
  }
  for (int g = 0; g < 16; ++g) {
    if (form.pointer_gprs & (1u << g)) s.gpr[g] = pointer(rng);
  }
  if (form.mem_gpr >= 0) {
    uint64_t ea = s.gpr[form.mem_gpr] + static_cast<uint64_t>(form.mem_disp);
    uint64_t v = interesting_value(rng);
    if (ea >= kDataAddr && ea + 8 <= kDataAddr + kDataSize) memcpy(&s.data[ea - kDataAddr], &v, 8);
  }
  if (form.imm_index >= 0) {
    tc.imm = form.hint == Hint::kCount ? shift_count(rng, form.count_max)
                                       : sign_extend(interesting_value(rng), form.imm_bits);
    if (form.hint == Hint::kCount) tc.imm = sign_extend(static_cast<uint64_t>(tc.imm), 8);
  }
  switch (form.hint) {
    case Hint::kNone:
      break;
    case Hint::kCount:
      s.gpr[kRcx] =
          (s.gpr[kRcx] & ~0xFFull) | static_cast<uint64_t>(shift_count(rng, form.count_max) & 0xFF);
      break;
    case Hint::kString: {
      s.gpr[kRsi] = kDataAddr + 0x300 + rng.below(0x100);
      s.gpr[kRdi] = kDataAddr + 0x1000 + rng.below(0x100);
      s.gpr[kRcx] = rng.below(8) == 0 ? 0 : rng.below(12);
      if (rng.below(2) == 0) {  // equal strings, so REPE runs on
        memcpy(&s.data[s.gpr[kRdi] - kDataAddr - 0x80], &s.data[s.gpr[kRsi] - kDataAddr - 0x80],
               0x100);
      }
      if (rng.below(2) == 0) s.gpr[kRax] = read64(s, s.gpr[kRdi]);  // SCAS finds a match
      break;
    }
    case Hint::kDivide:
      if (rng.below(2) == 0) {
        bool is_signed = form.mnemonic == ZYDIS_MNEMONIC_IDIV;
        if (form.size == 8) {
          uint64_t high = (is_signed && (s.gpr[kRax] & 0x80)) ? 0xFF : 0;
          s.gpr[kRax] = (s.gpr[kRax] & ~0xFF00ull) | (high << 8);
        } else {
          bool negative = (s.gpr[kRax] >> (form.size - 1)) & 1;
          s.gpr[kRdx] = (is_signed && negative) ? ~0ull : 0;
        }
      }
      break;
    case Hint::kSimd:
      shape_simd_state(form, rng, s);
      break;
    case Hint::kFrame:
      s.gpr[kRbp] = kDataAddr + 0x1A00 - 8 * rng.below(16);
      break;
    case Hint::kBitOffset:
      assert(form.hint_gpr >= 0 && form.hint_gpr < 16);
      s.gpr[form.hint_gpr] = static_cast<uint64_t>(static_cast<int64_t>(rng.below(1024)) - 512);
      break;
    case Hint::kCompareExchangeWide:
      if (rng.below(2) == 0) {
        uint64_t ea = s.gpr[form.mem_gpr] + static_cast<uint64_t>(form.mem_disp);
        uint64_t low = read64(s, ea);
        if (form.mnemonic == ZYDIS_MNEMONIC_CMPXCHG8B) {
          s.gpr[kRax] = (s.gpr[kRax] & ~0xFFFFFFFFull) | (low & 0xFFFFFFFF);
          s.gpr[kRdx] = (s.gpr[kRdx] & ~0xFFFFFFFFull) | (low >> 32);
        } else {
          s.gpr[kRax] = low;
          s.gpr[kRdx] = read64(s, ea + 8);
        }
      }
      break;
    case Hint::kCompareExchange:
      if (rng.below(2) == 0) {
        s.gpr[kRax] = form.mem_dest_compare
                          ? read64(s, s.gpr[form.mem_gpr] + static_cast<uint64_t>(form.mem_disp))
                          : s.gpr[form.hint_gpr];
      }
      break;
  }
  if (form.addr32) {  // the instruction must ignore the upper halves
    for (int g = 0; g < 16; ++g) {
      if (form.pointer_gprs & (1u << g)) s.gpr[g] = (rng.next() << 32) | (s.gpr[g] & 0xFFFFFFFF);
    }
    if (form.hint == Hint::kString) s.gpr[kRcx] |= rng.next() << 32;
  }
  // MXCSR and MM0-7 last, from a generator of their own: the other values
  // stay what they were before these were compared. MM after the SIMD
  // shaping: it copies XMM lanes.
  Rng fp(rng.next());
  s.mxcsr = random_mxcsr(fp);
  random_mmx(fp, s);
  return tc;
}

}  // namespace vessel::difftest

// SSE4.2 operations (Intel SDM Vol. 2, PCMPGTQ, CRC32, PCMPESTRI/PCMPESTRM/
// PCMPISTRI/PCMPISTRM and Vol. 1 / Vol. 2 section 4.1, "Imm8 Control Byte
// Operation for PCMPESTRI / PCMPESTRM / PCMPISTRI / PCMPISTRM").
#include "cpu/exec/sse42.h"

#include <bit>

namespace vessel::cpu {
namespace {

// ---- String compares --------------------------------------------------------
// imm8: [0] words (else bytes), [1] signed, [3:2] aggregation, [5:4]
// polarity, [6] most significant index / expanded mask.

unsigned element_count(unsigned imm) {
  return (imm & 1) ? 8 : 16;
}

int element(const Xmm& x, unsigned k, unsigned imm) {
  if (imm & 1) return (imm & 2) ? static_cast<int16_t>(x.w[k]) : x.w[k];
  return (imm & 2) ? static_cast<int8_t>(x.b[k]) : x.b[k];
}

// Length of a null-terminated operand: the index of its first zero element.
unsigned implicit_length(const Xmm& x, unsigned imm) {
  unsigned n = element_count(imm);
  for (unsigned k = 0; k < n; ++k)
    if (element(x, k, imm) == 0) return k;
  return n;
}

// |EAX| or |EDX| (RAX/RDX with REX.W), saturated to the element count.
unsigned explicit_length(uint64_t reg, unsigned imm) {
  int64_t v = (imm & kStrRexW) ? static_cast<int64_t>(reg) : static_cast<int32_t>(reg);
  uint64_t magnitude = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  unsigned n = element_count(imm);
  return magnitude > n ? n : static_cast<unsigned>(magnitude);
}

// IntRes2 of the comparison of `a` (the first operand, length la) with `b`
// (the second operand, length lb). Elements past a length are invalid and
// compare as the SDM's override table says: equal any and ranges false;
// equal each true only when both are invalid; equal ordered true when a's
// element is invalid, false when only b's is.
unsigned string_compare(const Xmm& a, unsigned la, const Xmm& b, unsigned lb, unsigned imm) {
  unsigned n = element_count(imm);
  unsigned res1 = 0;
  switch ((imm >> 2) & 3) {
    case 0:  // equal any: b[j] is one of a's valid elements
      for (unsigned j = 0; j < lb; ++j)
        for (unsigned i = 0; i < la; ++i)
          if (element(a, i, imm) == element(b, j, imm)) {
            res1 |= 1u << j;
            break;
          }
      break;
    case 1:  // ranges: a[i] <= b[j] <= a[i+1] for an even i with both valid
      for (unsigned j = 0; j < lb; ++j)
        for (unsigned i = 0; i + 1 < la; i += 2) {
          int v = element(b, j, imm);
          if (element(a, i, imm) <= v && v <= element(a, i + 1, imm)) {
            res1 |= 1u << j;
            break;
          }
        }
      break;
    case 2:  // equal each
      for (unsigned i = 0; i < n; ++i) {
        bool r = i >= la && i >= lb;
        if (i < la && i < lb) r = element(a, i, imm) == element(b, i, imm);
        if (r) res1 |= 1u << i;
      }
      break;
    default:  // equal ordered: a (up to its length) starts at b[j]
      for (unsigned j = 0; j < n; ++j) {
        bool match = true;
        for (unsigned i = 0; match && i < n - j; ++i) {
          if (i >= la) break;
          match = j + i < lb && element(a, i, imm) == element(b, j + i, imm);
        }
        if (match) res1 |= 1u << j;
      }
      break;
  }
  unsigned all = (1u << n) - 1;
  switch ((imm >> 4) & 3) {
    case 1:  // negative
      return ~res1 & all;
    case 3:  // masked negative: only the valid elements of b are negated
      return res1 ^ ((1u << lb) - 1);
    default:  // positive, masked positive
      return res1;
  }
}

// CF: IntRes2 != 0; ZF: b is shorter than the element count; SF: a is; OF:
// IntRes2[0]; AF, PF: 0.
void string_flags(Cpu& c, unsigned res2, unsigned la, unsigned lb, unsigned imm) {
  unsigned n = element_count(imm);
  uint64_t f = 0;
  if (res2 != 0) f |= rflags::kCf;
  if (lb < n) f |= rflags::kZf;
  if (la < n) f |= rflags::kSf;
  if (res2 & 1) f |= rflags::kOf;
  c.lflags.put(f);
}

// ECX = the index of the least (imm[6] = 0) or most significant set bit of
// IntRes2, or the element count when none is set.
void string_index(Cpu& c, unsigned res2, unsigned imm) {
  unsigned index = element_count(imm);
  if (res2 != 0)
    index = (imm & 0x40) ? 31 - static_cast<unsigned>(std::countl_zero(res2))
                         : static_cast<unsigned>(std::countr_zero(res2));
  c.gpr[kRcx] = index;
}

// XMM0 = IntRes2 zero-extended (imm[6] = 0) or expanded to a byte/word mask.
void string_mask(Cpu& c, unsigned res2, unsigned imm) {
  Xmm m{};
  if (imm & 0x40) {
    for (unsigned k = 0; k < element_count(imm); ++k) {
      if (!((res2 >> k) & 1)) continue;
      if (imm & 1)
        m.w[k] = 0xFFFF;
      else
        m.b[k] = 0xFF;
    }
  } else {
    m.q[0] = res2;
  }
  c.fpu.xmm[0] = m;
}

// ---- CRC32 ------------------------------------------------------------------

template <bool kMem>
Flow crc32(Cpu& c, const Insn& i) {
  uint64_t src;
  if constexpr (kMem) {
    if (!c.read(i.seg, c.effective_address(i), i.size2, &src)) return Flow::kFault;
  } else {
    src = c.reg(i.r1, i.size2);
  }
  uint32_t crc = crc32c_update(static_cast<uint32_t>(c.gpr[i.r0]), src, i.size2);
  c.set_reg(i.r0, i.opsize, crc);  // bits 32-63 of the destination are cleared
  return Flow::kNext;
}

}  // namespace

VESSEL_XMM_FN(pcmpgtq) {
  for (unsigned k = 0; k < 2; ++k)
    d.q[k] = static_cast<int64_t>(d.q[k]) > static_cast<int64_t>(s.q[k]) ? ~uint64_t{0} : 0;
}

VESSEL_XMM_FN(pcmpestri) {
  unsigned la = explicit_length(c.gpr[kRax], imm), lb = explicit_length(c.gpr[kRdx], imm);
  unsigned res2 = string_compare(d, la, s, lb, imm);
  string_flags(c, res2, la, lb, imm);
  string_index(c, res2, imm);
}
VESSEL_XMM_FN(pcmpestrm) {
  unsigned la = explicit_length(c.gpr[kRax], imm), lb = explicit_length(c.gpr[kRdx], imm);
  unsigned res2 = string_compare(d, la, s, lb, imm);
  string_flags(c, res2, la, lb, imm);
  string_mask(c, res2, imm);
}
VESSEL_XMM_FN(pcmpistri) {
  unsigned la = implicit_length(d, imm), lb = implicit_length(s, imm);
  unsigned res2 = string_compare(d, la, s, lb, imm);
  string_flags(c, res2, la, lb, imm);
  string_index(c, res2, imm);
}
VESSEL_XMM_FN(pcmpistrm) {
  unsigned la = implicit_length(d, imm), lb = implicit_length(s, imm);
  unsigned res2 = string_compare(d, la, s, lb, imm);
  string_flags(c, res2, la, lb, imm);
  string_mask(c, res2, imm);
}

uint32_t crc32c_update(uint32_t crc, uint64_t data, unsigned bytes) {
  for (unsigned k = 0; k < bytes; ++k) {
    crc ^= static_cast<uint8_t>(data >> (8 * k));
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
  }
  return crc;
}

Handler sse42_crc32(bool mem) {
  return mem ? crc32<true> : crc32<false>;
}

}  // namespace vessel::cpu

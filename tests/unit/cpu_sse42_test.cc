// SSE4.2 on the software CPU: PCMPGTQ, CRC32 (every source size, checked
// against the SDM's polynomial definition computed independently here) and
// the string compares PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM (each
// aggregation, polarity and output selection, the validity rules for
// implicit and explicit lengths, and the flags). Expected values are worked
// out by hand from the SDM's description of the imm8 control byte.
#include <array>
#include <cstring>
#include <string_view>

#include "cpu/exec/cpuid.h"
#include "cpu_sse_fixture.h"

namespace vessel::cpu {
namespace {

using u128 = unsigned __int128;
using namespace std::literals;

class Sse42 : public SseTest {
 protected:
  // Loads up to 16 bytes of `s` into xmm(n), the rest zero.
  void set_str(unsigned n, std::string_view s) {
    x(n) = Xmm{};
    std::memcpy(x(n).b, s.data(), s.size() < 16 ? s.size() : 16);
  }
  void set_words(unsigned n, std::initializer_list<uint16_t> w) {
    x(n) = Xmm{};
    unsigned k = 0;
    for (uint16_t v : w) x(n).w[k++] = v;
  }
  uint64_t arith() const { return rflags() & rflags::kArith; }
  // Runs `op xmm1, xmm2, imm` (66 0F 3A <opcode> CA ib) with every arithmetic flag set before.
  int str(uint8_t opcode, uint8_t imm) {
    cpu.lflags.put(rflags::kArith);
    return run_bytes(std::array<uint8_t, 6>{0x66, 0x0F, 0x3A, opcode, 0xCA, imm}.data(), 6);
  }
  static constexpr uint8_t kEstrm = 0x60, kEstri = 0x61, kIstrm = 0x62, kIstri = 0x63;
};

constexpr uint64_t CF = rflags::kCf, ZF = rflags::kZf, SF = rflags::kSf, OF = rflags::kOf;

// ---- CRC32 ------------------------------------------------------------------

uint64_t reflect(uint64_t v, unsigned bits) {
  uint64_t r = 0;
  for (unsigned k = 0; k < bits; ++k)
    if ((v >> k) & 1) r |= uint64_t{1} << (bits - 1 - k);
  return r;
}

// The SDM's CRC32 operation, literally: TEMP5 = BIT_REFLECT(SRC) << 32 XOR
// BIT_REFLECT(DEST[31:0]) << n; DEST = BIT_REFLECT(TEMP5 MOD2 11EDC6F41H).
uint32_t sdm_crc32(uint32_t dest, uint64_t src, unsigned n) {
  u128 t = (u128{reflect(src, n)} << 32) ^ (u128{reflect(dest, 32)} << n);
  for (int bit = static_cast<int>(n) + 31; bit >= 32; --bit)
    if ((t >> bit) & 1) t ^= u128{0x11EDC6F41} << (bit - 32);
  return static_cast<uint32_t>(reflect(static_cast<uint32_t>(t), 32));
}

TEST_F(Sse42, Crc32MatchesTheSdmDefinitionForEverySourceSize) {
  const uint64_t kSources[] = {0, 1, 0x80, 0xDEADBEEFCAFEF00D, ~0ull, 0x0123456789ABCDEF};
  const uint64_t kDests[] = {0, ~0ull, 0x12345678, 0xFFFFFFFF00000001};
  for (uint64_t src : kSources) {
    for (uint64_t dst : kDests) {
      SCOPED_TRACE(::testing::Message() << std::hex << "src " << src << " dst " << dst);
      auto check = [&](std::initializer_list<uint8_t> code, unsigned bits) {
        cpu.gpr[kRax] = dst;
        cpu.gpr[kRcx] = src;
        ASSERT_EQ(run(code), kNone);
        uint64_t masked = bits == 64 ? src : src & ((uint64_t{1} << bits) - 1);
        EXPECT_EQ(cpu.gpr[kRax], sdm_crc32(static_cast<uint32_t>(dst), masked, bits)) << bits;
      };
      check({/* crc32 eax, cl */ 0xF2, 0x0F, 0x38, 0xF0, 0xC1}, 8);
      check({/* crc32 eax, cx */ 0x66, 0xF2, 0x0F, 0x38, 0xF1, 0xC1}, 16);
      check({/* crc32 eax, ecx */ 0xF2, 0x0F, 0x38, 0xF1, 0xC1}, 32);
      check({/* crc32 rax, cl */ 0xF2, 0x48, 0x0F, 0x38, 0xF0, 0xC1}, 8);
      check({/* crc32 rax, rcx */ 0xF2, 0x48, 0x0F, 0x38, 0xF1, 0xC1}, 64);
    }
  }
}

TEST_F(Sse42, Crc32OfTheCheckStringAndItsOperands) {
  // CRC-32C of "123456789" (initial value and final XOR all ones) is E3069283H.
  std::memcpy(bus.mem.data() + kData, "123456789", 9);
  cpu.gpr[kRax] = 0xFFFFFFFF;
  cpu.gpr[kRsi] = kData;
  // crc32 rax, qword [rsi]; crc32 eax, byte [rsi+8]
  ASSERT_EQ(run({0xF2, 0x48, 0x0F, 0x38, 0xF1, 0x06, 0xF2, 0x0F, 0x38, 0xF0, 0x46, 0x08}), kNone);
  EXPECT_EQ(cpu.gpr[kRax] ^ 0xFFFFFFFF, 0xE3069283u);
  // The same bytes through word and dword memory sources and r8 registers.
  cpu.gpr[kRdx] = 0xFFFFFFFF;
  // crc32 edx, dword [rsi]; crc32 edx, word [rsi+4]; crc32 edx, word [rsi+6]
  ASSERT_EQ(run({0xF2, 0x0F, 0x38, 0xF1, 0x16, 0x66, 0xF2, 0x0F, 0x38, 0xF1, 0x56, 0x04, 0x66, 0xF2,
                 0x0F, 0x38, 0xF1, 0x56, 0x06}),
            kNone);
  cpu.gpr[kRbx] = 0x3900;  // '9' in BH
  ASSERT_EQ(run({/* crc32 edx, bh */ 0xF2, 0x0F, 0x38, 0xF0, 0xD7}), kNone);
  EXPECT_EQ(cpu.gpr[kRdx] ^ 0xFFFFFFFF, 0xE3069283u);
  cpu.gpr[kRbx] = kData;
  // crc32 r9d, r10b (REX: SPL..R15B) leaves bits 32-63 of R9 clear; flags untouched.
  cpu.gpr[kR9] = 0xAAAAAAAA00000000;
  cpu.gpr[kR10] = 0x31;
  cpu.lflags.put(CF | ZF);
  ASSERT_EQ(run({0xF2, 0x45, 0x0F, 0x38, 0xF0, 0xCA}), kNone);
  EXPECT_EQ(cpu.gpr[kR9], sdm_crc32(0, 0x31, 8));
  EXPECT_EQ(arith(), CF | ZF);
}

// ---- PCMPGTQ ----------------------------------------------------------------

TEST_F(Sse42, PcmpgtqComparesSignedQuadwords) {
  set_q(1, 5, 0x8000000000000000);
  set_q(2, static_cast<uint64_t>(-3), 0x7FFFFFFFFFFFFFFF);
  ASSERT_EQ(run({/* pcmpgtq xmm1, xmm2 */ 0x66, 0x0F, 0x38, 0x37, 0xCA}), kNone);
  EXPECT_EQ(x(1).q[0], ~0ull);
  EXPECT_EQ(x(1).q[1], 0u);
  set_q(1, 7, 0x7FFFFFFFFFFFFFFF);
  set_q(2, 7, 0x8000000000000000);
  ASSERT_EQ(run({0x66, 0x0F, 0x38, 0x37, 0xCA}), kNone);
  EXPECT_EQ(x(1).q[0], 0u);  // equal is not greater
  EXPECT_EQ(x(1).q[1], ~0ull);
  // The m128 operand must be 16-byte aligned (legacy SSE); the string compares' need not.
  EXPECT_EQ(run({/* pcmpgtq xmm1, [rbx+8] */ 0x66, 0x0F, 0x38, 0x37, 0x4B, 0x08}), kGp);
  fill_data(1);
  ASSERT_EQ(run({/* pcmpgtq xmm1, [rbx+16] */ 0x66, 0x0F, 0x38, 0x37, 0x4B, 0x10}), kNone);
  EXPECT_EQ(x(1).q[1], 0u);  // ~0 is not greater than 0x201F1E1D1C1B1A19
  set_str(1, "a");
  ASSERT_EQ(run({/* pcmpistri xmm1, [rbx+1], 0 */ 0x66, 0x0F, 0x3A, 0x63, 0x4B, 0x01, 0x00}),
            kNone);
  EXPECT_EQ(cpu.gpr[kRcx], 16u);  // bytes 2..17: no 'a'
}

// ---- String compares: equal any -------------------------------------------

TEST_F(Sse42, EqualAnyWithEveryPolarityAndOutput) {
  set_str(1, "aeiou");        // the set; length 5
  set_str(2, "hello world");  // the string; length 11: matches at 1, 4, 7
  cpu.gpr[kRcx] = ~0ull;
  ASSERT_EQ(str(kIstri, 0x00), kNone);
  EXPECT_EQ(cpu.gpr[kRcx], 1u);  // least significant; RCX bits 32-63 cleared
  EXPECT_EQ(arith(), CF | ZF | SF);
  ASSERT_EQ(str(kIstri, 0x40), kNone);
  EXPECT_EQ(cpu.gpr[kRcx], 7u);  // most significant
  ASSERT_EQ(str(kIstrm, 0x00), kNone);
  EXPECT_EQ(x(0).q[0], 0x92u);
  EXPECT_EQ(x(0).q[1], 0u);
  // Negative: every element of the 16, valid or not, is inverted.
  ASSERT_EQ(str(kIstrm, 0x10), kNone);
  EXPECT_EQ(x(0).q[0], 0xFF6Du);
  EXPECT_EQ(arith(), CF | ZF | SF | OF);
  // Masked negative: only the 11 valid elements of the string are inverted.
  ASSERT_EQ(str(kIstrm, 0x30), kNone);
  EXPECT_EQ(x(0).q[0], 0x76Du);
  ASSERT_EQ(str(kIstri, 0x70), kNone);
  EXPECT_EQ(cpu.gpr[kRcx], 10u);
  // Masked positive is positive.
  ASSERT_EQ(str(kIstri, 0x20), kNone);
  EXPECT_EQ(cpu.gpr[kRcx], 1u);
  // Expanded byte mask.
  ASSERT_EQ(str(kIstrm, 0x70), kNone);
  EXPECT_EQ(x(0).q[0], 0x00FFFF00FFFF00FFu);  // bytes 0, 2, 3, 5, 6
  EXPECT_EQ(x(0).q[1], 0x0000000000FFFFFFu);  // bytes 8, 9, 10
}

TEST_F(Sse42, EqualAnyWithAnEmptySetOrNoMatch) {
  set_str(1, "");  // empty: nothing matches, even the string's terminator
  set_str(2, "abc");
  cpu.gpr[kRcx] = 0x1234;
  ASSERT_EQ(str(kIstri, 0x00), kNone);
  EXPECT_EQ(cpu.gpr[kRcx], 16u);  // none: the element count
  EXPECT_EQ(arith(), ZF | SF);
  // Words: 8 elements, and the terminator is a zero word.
  set_words(1, {0x4141, 0x4242});
  set_words(2, {0x4241, 0x4242, 0x4141, 0, 0x4141});
  ASSERT_EQ(str(kIstri, 0x01), kNone);
  EXPECT_EQ(cpu.gpr[kRcx], 1u);
  ASSERT_EQ(str(kIstrm, 0x41), kNone);  // word mask: words 1 and 2 (not 4: past the end)
  EXPECT_EQ(x(0).q[0], 0x0000FFFFFFFF0000u);
  EXPECT_EQ(x(0).q[1], 0u);
  EXPECT_EQ(arith(), CF | ZF | SF);
  // Neither string terminated: ZF and SF clear.
  set_str(1, "0123456789abcdef");
  set_str(2, "ghijklmnopqrstuv");
  ASSERT_EQ(str(kIstri, 0x00), kNone);
  EXPECT_EQ(cpu.gpr[kRcx], 16u);
  EXPECT_EQ(arith(), 0u);
}

// ---- Ranges -----------------------------------------------------------------

TEST_F(Sse42, RangesPairUpTheFirstOperand) {
  set_str(1, "azAZ");
  set_str(2, "Hi 5x!");
  ASSERT_EQ(str(kIstrm, 0x04), kNone);
  EXPECT_EQ(x(0).q[0], 0x13u);  // H, i, x
  EXPECT_EQ(arith(), CF | ZF | SF | OF);
  // An odd length: the last element has no partner and matches nothing.
  set_str(1, "az0");
  set_str(2, "0b");
  ASSERT_EQ(str(kIstrm, 0x04), kNone);
  EXPECT_EQ(x(0).q[0], 0x2u);
}

TEST_F(Sse42, RangesSignedAndUnsignedWithExplicitLengths) {
  set_q(1, 0x1080, 0);  // the range 80H..10H: -128..16 signed, empty unsigned
  set_q(2, 0x0590'20F0, 0);
  cpu.gpr[kRax] = 2;
  cpu.gpr[kRdx] = 4;                    // F0H, 20H, 90H, 05H
  ASSERT_EQ(str(kEstrm, 0x06), kNone);  // signed bytes: -16, 32, -112, 5
  EXPECT_EQ(x(0).q[0], 0xDu);
  EXPECT_EQ(arith(), CF | ZF | SF | OF);
  ASSERT_EQ(str(kEstrm, 0x04), kNone);  // unsigned bytes
  EXPECT_EQ(x(0).q[0], 0u);
  EXPECT_EQ(arith(), ZF | SF);
  // Signed words: the range -2..2 against -3, -2, 2, 3, 0.
  set_words(1, {0xFFFE, 2});
  set_words(2, {0xFFFD, 0xFFFE, 2, 3, 0});
  cpu.gpr[kRdx] = 5;
  ASSERT_EQ(str(kEstri, 0x47), kNone);  // signed words, most significant index
  EXPECT_EQ(cpu.gpr[kRcx], 4u);
  ASSERT_EQ(str(kEstrm, 0x07), kNone);
  EXPECT_EQ(x(0).q[0], 0x16u);
  ASSERT_EQ(str(kEstrm, 0x05), kNone);  // unsigned words: 0FFFEH..2 is empty
  EXPECT_EQ(x(0).q[0], 0u);
}

// ---- Equal each ---------------------------------------------------------------

TEST_F(Sse42, EqualEachWithInvalidElements) {
  set_words(1, {1, 2, 3, 4, 5, 6, 7, 8});
  set_words(2, {1, 0, 3, 4, 9, 6, 7, 8});
  cpu.gpr[kRax] = 6;
  cpu.gpr[kRdx] = 4;
  // 0: equal; 1: differ; 2, 3: equal; 4, 5: only the first valid; 6, 7: both invalid.
  ASSERT_EQ(str(kEstrm, 0x09), kNone);
  EXPECT_EQ(x(0).q[0], 0xCDu);
  EXPECT_EQ(arith(), CF | ZF | SF | OF);
  ASSERT_EQ(str(kEstri, 0x09), kNone);
  EXPECT_EQ(cpu.gpr[kRcx], 0u);
  ASSERT_EQ(str(kEstri, 0x49), kNone);
  EXPECT_EQ(cpu.gpr[kRcx], 7u);
  ASSERT_EQ(str(kEstrm, 0x19), kNone);  // negative
  EXPECT_EQ(x(0).q[0], 0x32u);
  ASSERT_EQ(str(kEstrm, 0x39), kNone);  // masked negative: elements 0-3 only
  EXPECT_EQ(x(0).q[0], 0xC2u);
  EXPECT_EQ(arith(), CF | ZF | SF);
  ASSERT_EQ(str(kEstrm, 0x49), kNone);  // word mask of 0CDH
  EXPECT_EQ(x(0).q[0], 0xFFFFFFFF0000FFFFu);
  EXPECT_EQ(x(0).q[1], 0xFFFFFFFF00000000u);
  // Implicit lengths: the strings compare equal up to and past their terminators.
  set_str(1, "same\0xyz"sv);
  set_str(2, "same\0abc"sv);
  ASSERT_EQ(str(kIstri, 0x18), kNone);  // negative: the first difference
  EXPECT_EQ(cpu.gpr[kRcx], 16u);
  EXPECT_EQ(arith(), ZF | SF);
  set_str(2, "sane");
  ASSERT_EQ(str(kIstri, 0x18), kNone);
  EXPECT_EQ(cpu.gpr[kRcx], 2u);
  EXPECT_EQ(arith(), CF | ZF | SF);
}

TEST_F(Sse42, ExplicitLengthsSaturateAndTakeTheAbsoluteValue) {
  set_str(1, "0123456789abcdef");
  set_str(2, "012x456789abcdef");
  cpu.gpr[kRax] = static_cast<uint32_t>(-20);  // |-20| > 16: 16
  cpu.gpr[kRdx] = 17;
  ASSERT_EQ(str(kEstrm, 0x08), kNone);
  EXPECT_EQ(x(0).q[0], 0xFFF7u);
  EXPECT_EQ(arith(), CF | OF);  // no length below 16
  cpu.gpr[kRax] = static_cast<uint32_t>(-3);
  cpu.gpr[kRdx] = 3;  // element 3 invalid in both: equal
  ASSERT_EQ(str(kEstrm, 0x08), kNone);
  EXPECT_EQ(x(0).q[0], 0xFFFFu);
  EXPECT_EQ(arith(), CF | ZF | SF | OF);
  cpu.gpr[kRdx] = static_cast<uint32_t>(-4);  // element 3 valid only in the second
  ASSERT_EQ(str(kEstrm, 0x08), kNone);
  EXPECT_EQ(x(0).q[0], 0xFFF7u);
  cpu.gpr[kRax] = 0x80000000;  // the most negative: 16
  cpu.gpr[kRdx] = 16;
  ASSERT_EQ(str(kEstrm, 0x08), kNone);
  EXPECT_EQ(x(0).q[0], 0xFFF7u);
  EXPECT_EQ(arith(), CF | OF);
  // Bits 32-63 are ignored without REX.W and used with it.
  cpu.gpr[kRax] = 0x100000000;          // EAX 0, RAX 2^32
  cpu.gpr[kRdx] = 0xFFFFFFFF00000005;   // EDX 5, RDX negative and huge
  ASSERT_EQ(str(kEstri, 0x00), kNone);  // equal any with an empty set
  EXPECT_EQ(cpu.gpr[kRcx], 16u);
  EXPECT_EQ(arith(), ZF | SF);
  cpu.lflags.put(rflags::kArith);
  // pcmpestri xmm1, xmm2, 0 with REX.W: both lengths 16, '0' is found at 0.
  ASSERT_EQ(run({0x66, 0x48, 0x0F, 0x3A, 0x61, 0xCA, 0x00}), kNone);
  EXPECT_EQ(cpu.gpr[kRcx], 0u);
  EXPECT_EQ(arith(), CF | OF);
  // Words saturate at 8.
  cpu.gpr[kRax] = 9;
  cpu.gpr[kRdx] = static_cast<uint32_t>(-8);
  ASSERT_EQ(str(kEstri, 0x09), kNone);
  EXPECT_EQ(arith(), CF | OF);
}

// ---- Equal ordered ------------------------------------------------------------

TEST_F(Sse42, EqualOrderedFindsSubstrings) {
  set_str(1, "ab");
  set_str(2, "abxab");
  ASSERT_EQ(str(kIstrm, 0x0C), kNone);
  EXPECT_EQ(x(0).q[0], 0x9u);  // at 0 and 3; not at 5..15 (past the string's end)
  EXPECT_EQ(arith(), CF | ZF | SF | OF);
  ASSERT_EQ(str(kIstri, 0x4C), kNone);
  EXPECT_EQ(cpu.gpr[kRcx], 3u);
  // A match that runs past element 15 counts (the rest may follow in the next block).
  set_str(1, "abc");
  set_str(2, "xxxxxxxxxxxxxaba");
  cpu.gpr[kRax] = 3;
  cpu.gpr[kRdx] = 16;
  ASSERT_EQ(str(kEstri, 0x0C), kNone);
  EXPECT_EQ(cpu.gpr[kRcx], 15u);
  EXPECT_EQ(arith(), CF | SF);
  set_str(2, "xxxxxxxxxxxxxxab");
  ASSERT_EQ(str(kEstrm, 0x0C), kNone);
  EXPECT_EQ(x(0).q[0], 0x4000u);
  // The same run stops at the second operand's length.
  cpu.gpr[kRdx] = 15;
  ASSERT_EQ(str(kEstrm, 0x0C), kNone);
  EXPECT_EQ(x(0).q[0], 0u);
  EXPECT_EQ(arith(), ZF | SF);
  // An empty first operand matches everywhere.
  cpu.gpr[kRax] = 0;
  cpu.gpr[kRdx] = 5;
  ASSERT_EQ(str(kEstrm, 0x0C), kNone);
  EXPECT_EQ(x(0).q[0], 0xFFFFu);
  EXPECT_EQ(arith(), CF | ZF | SF | OF);
  ASSERT_EQ(str(kEstrm, 0x3C), kNone);  // masked negative: the 5 valid ones cleared
  EXPECT_EQ(x(0).q[0], 0xFFE0u);
  EXPECT_EQ(arith(), CF | ZF | SF);
}

TEST_F(Sse42, MaskOutputMayOverwriteItsOwnOperand) {
  set_str(0, "hello");
  set_str(2, "help");
  cpu.lflags.put(rflags::kArith);
  // pcmpistrm xmm0, xmm2, 0x08 (equal each): 0, 1, 2 equal; 5..15 both invalid.
  ASSERT_EQ(run({0x66, 0x0F, 0x3A, 0x62, 0xC2, 0x08}), kNone);
  EXPECT_EQ(x(0).q[0], 0xFFE7u);
  EXPECT_EQ(x(0).q[1], 0u);
  set_str(1, "help");
  // pcmpistri xmm1, xmm0, 0x18 (equal each, negative): XMM0 (now 0FFE7H: 2 valid
  // bytes) is the second operand and differs at 0.
  ASSERT_EQ(run({0x66, 0x0F, 0x3A, 0x63, 0xC8, 0x18}), kNone);
  EXPECT_EQ(cpu.gpr[kRcx], 0u);
}

TEST_F(Sse42, CpuidAdvertisesSse42) {
  CpuidResult r = cpuid(1, 0, 0);
  EXPECT_TRUE(r.ecx & (1u << 20));  // SSE4.2
  EXPECT_TRUE(r.ecx & (1u << 23));  // POPCNT
}

}  // namespace
}  // namespace vessel::cpu

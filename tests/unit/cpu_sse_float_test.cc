// SSE/SSE2 floating point on the software CPU: packed and scalar
// arithmetic, min/max with NaN and signed zeros, logic, the eight compare
// predicates, COMISD/UCOMISD flags and exceptions, shuffles and unpacks,
// MXCSR rounding control and flag bits, DAZ/FTZ.
#include "cpu_sse_fixture.h"

#include <limits>

namespace vessel::cpu {
namespace {

using SseFloat = SseTest;
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr float kNanF = std::numeric_limits<float>::quiet_NaN();

TEST_F(SseFloat, PackedAndScalarArithmetic) {
  set_ps(1, 1.5f, 2.0f, 3.0f, 4.0f);
  set_ps(2, 0.5f, 4.0f, -3.0f, 8.0f);
  x(3) = x(1);
  x(4) = x(1);
  set_pd(5, 10.0, 7.0);
  set_pd(6, 4.0, 100.0);
  set_pd(7, 1.0, 9.0);
  set_pd(8, 2.0, 3.0);
  bus.put_obj<double>(kData, 0.25);
  set_pd(9, 1.0, 5.0);
  ASSERT_EQ(run({/* addps xmm1, xmm2; mulps xmm3, xmm2; subss xmm4, xmm2; divsd xmm5, xmm6; sqrtsd
                    xmm7, xmm8; addsd xmm9, [rbx] */
                 0x0F, 0x58, 0xCA, 0x0F, 0x59, 0xDA, 0xF3, 0x0F, 0x5C, 0xE2, 0xF2, 0x0F,
                 0x5E, 0xEE, 0xF2, 0x41, 0x0F, 0x51, 0xF8, 0xF2, 0x44, 0x0F, 0x58, 0x0B}),
            kNone);
  EXPECT_EQ(x(1).f[0], 2.0f);
  EXPECT_EQ(x(1).f[1], 6.0f);
  EXPECT_EQ(x(1).f[2], 0.0f);
  EXPECT_EQ(x(1).f[3], 12.0f);
  EXPECT_EQ(x(3).f[0], 0.75f);
  EXPECT_EQ(x(3).f[2], -9.0f);
  EXPECT_EQ(x(4).f[0], 1.0f);
  EXPECT_EQ(x(4).f[1], 2.0f);  // upper lanes kept
  EXPECT_EQ(x(5).f64[0], 2.5);
  EXPECT_EQ(x(5).f64[1], 7.0);
  EXPECT_EQ(x(7).f64[0], std::sqrt(2.0));
  EXPECT_EQ(x(7).f64[1], 9.0);  // the destination's upper half
  EXPECT_EQ(x(9).f64[0], 1.25);
  EXPECT_EQ(x(9).f64[1], 5.0);
  EXPECT_EQ(cpu.fpu.mxcsr & 0x3F, 0x20u);  // sqrt(2) is inexact: PE
}

TEST_F(SseFloat, MinMaxReturnTheSourceForNanAndZeros) {
  set_pd(1, kNan, 1.0);
  set_pd(2, 1.0, kNan);
  x(3) = x(2);
  x(4) = x(1);
  set_ps(5, 0.0f, -0.0f, 1.0f, kNanF);
  set_ps(6, -0.0f, 0.0f, 2.0f, 5.0f);
  ASSERT_EQ(run({/* minpd xmm1, xmm2; maxpd xmm3, xmm4; maxps xmm5, xmm6 */ 0x66, 0x0F, 0x5D, 0xCA,
                 0x66, 0x0F, 0x5F, 0xDC, 0x0F, 0x5F, 0xEE}),
            kNone);
  EXPECT_EQ(x(1).f64[0], 1.0);  // NaN in the destination: the source
  EXPECT_TRUE(std::isnan(x(1).f64[1]));
  EXPECT_TRUE(std::isnan(x(3).f64[0]));
  EXPECT_EQ(x(3).f64[1], 1.0);
  EXPECT_EQ(bits(x(5).f[0]), 0x80000000u);  // max(0, -0) = -0 (the source)
  EXPECT_EQ(bits(x(5).f[1]), 0u);
  EXPECT_EQ(x(5).f[2], 2.0f);
  EXPECT_EQ(x(5).f[3], 5.0f);
  EXPECT_TRUE(cpu.fpu.mxcsr & 1);  // min/max of a QNaN is invalid
}

TEST_F(SseFloat, Logic) {
  set_pd(1, -3.5, 2.0);
  set_q(2, 0x7FFFFFFFFFFFFFFF, 0x7FFFFFFFFFFFFFFF);
  set_q(3, 0xF0F0, 0xFF);
  set_q(4, 0xFF00, 0x0F);
  set_q(5, 0xF0F0, 0xFF);
  set_q(6, 0x1234, 0x5678);
  ASSERT_EQ(run({/* andpd xmm1, xmm2; andnps xmm3, xmm4; orpd xmm5, xmm4; xorps xmm6, xmm6 */ 0x66,
                 0x0F, 0x54, 0xCA, 0x0F, 0x55, 0xDC, 0x66, 0x0F, 0x56, 0xEC, 0x0F, 0x57, 0xF6}),
            kNone);
  EXPECT_EQ(x(1).f64[0], 3.5);
  EXPECT_EQ(x(3).q[0], 0x0F00u);
  EXPECT_EQ(x(3).q[1], 0x0u);
  EXPECT_EQ(x(5).q[0], 0xFFF0u);
  EXPECT_EQ(x(6).q[0] | x(6).q[1], 0u);
}

TEST_F(SseFloat, ComparePredicates) {
  // a = {1, 2, NaN, 4}, b = {1, 3, 1, 3}; expected lane masks for predicates 0-7.
  const unsigned expect[8] = {0b0001, 0b0010, 0b0011, 0b0100, 0b1110, 0b1101, 0b1100, 0b1011};
  for (unsigned pred = 0; pred < 8; ++pred) {
    set_ps(1, 1.0f, 2.0f, kNanF, 4.0f);
    set_ps(2, 1.0f, 3.0f, 1.0f, 3.0f);
    std::initializer_list<uint8_t> code = {/* cmpps xmm1, xmm2, 0; movmskps eax, xmm1 */ 0x0F,
                                           0xC2,
                                           0xCA,
                                           0x00,
                                           0x0F,
                                           0x50,
                                           0xC1};
    std::vector<uint8_t> bytes(code);
    bytes[3] = static_cast<uint8_t>(pred);
    bus.put(kCode, {});
    std::memcpy(bus.mem.data() + kCode, bytes.data(), bytes.size());
    bus.mem[kCode + bytes.size()] = 0xF4;
    cpu.block_cache().flush();
    cpu.rip = kCode;
    ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
    EXPECT_EQ(cpu.gpr[kRax], expect[pred]) << "predicate " << pred;
    EXPECT_EQ(x(1).d[0] == 0xFFFFFFFF || x(1).d[0] == 0, true);
  }
  set_pd(3, 1.0, 7.0);
  set_pd(4, 2.0, 7.0);
  ASSERT_EQ(run({/* cmpsd xmm3, xmm4, 1 */ 0xF2, 0x0F, 0xC2, 0xDC, 0x01}),
            kNone);  // 1 < 2: lane 0 all ones, lane 1 kept
  EXPECT_EQ(x(3).q[0], ~0ull);
  EXPECT_EQ(x(3).f64[1], 7.0);
}

TEST_F(SseFloat, ComisdFlags) {
  struct Case {
    double a, b;
    uint64_t flags;
  };
  const Case cases[] = {{1.0, 2.0, rflags::kCf},
                        {2.0, 2.0, rflags::kZf},
                        {3.0, 2.0, 0},
                        {kNan, 2.0, rflags::kZf | rflags::kPf | rflags::kCf}};
  for (const Case& k : cases) {
    set_pd(1, k.a, 0);
    set_pd(2, k.b, 0);
    // Set OF, SF and AF first (0x7F + 1 in AL), then compare.
    cpu.gpr[kRax] = 0x7F;
    ASSERT_EQ(run({/* add al, 1; comisd xmm1, xmm2 */ 0x04, 0x01, 0x66, 0x0F, 0x2F, 0xCA}), kNone);
    EXPECT_EQ(rflags() & rflags::kArith, k.flags) << k.a << " vs " << k.b;
  }
  // COMISD signals invalid on a QNaN, UCOMISD does not.
  cpu.fpu.mxcsr = 0x1F80;
  set_pd(1, kNan, 0);
  ASSERT_EQ(run({/* ucomisd xmm1, xmm2 */ 0x66, 0x0F, 0x2E, 0xCA}), kNone);
  EXPECT_EQ(cpu.fpu.mxcsr, 0x1F80u);
  EXPECT_EQ(rflags() & rflags::kArith, rflags::kZf | rflags::kPf | rflags::kCf);
  ASSERT_EQ(run({/* comisd xmm1, xmm2 */ 0x66, 0x0F, 0x2F, 0xCA}), kNone);
  EXPECT_EQ(cpu.fpu.mxcsr, 0x1F81u);
  // Single precision, with a memory operand.
  bus.put_obj<float>(kData, 5.0f);
  set_ps(3, 4.0f, 0, 0, 0);
  ASSERT_EQ(run({/* ucomiss xmm3, [rbx] */ 0x0F, 0x2E, 0x1B}), kNone);
  EXPECT_EQ(rflags() & rflags::kArith, rflags::kCf);
  ASSERT_EQ(run({/* comiss xmm3, xmm3 */ 0x0F, 0x2F, 0xDB}), kNone);
  EXPECT_EQ(rflags() & rflags::kArith, rflags::kZf);
}

TEST_F(SseFloat, ShufflesAndUnpacks) {
  set_q(1, 0x0000000100000000, 0x0000000300000002);
  set_q(2, 0x0000000B0000000A, 0x0000000D0000000C);
  x(3) = x(1);
  x(4) = x(1);
  set_q(5, 1, 2);
  set_q(6, 3, 4);
  x(7) = x(5);
  ASSERT_EQ(run({/* shufps xmm1, xmm2, 0x1B; unpcklps xmm3, xmm2; unpckhps xmm4, xmm2; shufpd xmm5,
                    xmm6, 1; unpckhpd xmm7, xmm6 */
                 0x0F, 0xC6, 0xCA, 0x1B, 0x0F, 0x14, 0xDA, 0x0F, 0x15, 0xE2, 0x66, 0x0F, 0xC6, 0xEE,
                 0x01, 0x66, 0x0F, 0x15, 0xFE}),
            kNone);
  EXPECT_EQ(x(1).d[0], 3u);
  EXPECT_EQ(x(1).d[1], 2u);
  EXPECT_EQ(x(1).d[2], 0xBu);
  EXPECT_EQ(x(1).d[3], 0xAu);
  EXPECT_EQ(x(3).q[0], 0x0000000A00000000u);
  EXPECT_EQ(x(3).q[1], 0x0000000B00000001u);
  EXPECT_EQ(x(4).q[0], 0x0000000C00000002u);
  EXPECT_EQ(x(4).q[1], 0x0000000D00000003u);
  EXPECT_EQ(x(5).q[0], 2u);
  EXPECT_EQ(x(5).q[1], 3u);
  EXPECT_EQ(x(7).q[0], 2u);
  EXPECT_EQ(x(7).q[1], 4u);
}

TEST_F(SseFloat, ReciprocalEstimates) {
  set_ps(1, 4.0f, 0.5f, 3.0f, 100.0f);
  x(2) = x(1);
  ASSERT_EQ(run({/* rcpps xmm3, xmm1; rsqrtps xmm4, xmm2 */ 0x0F, 0x53, 0xD9, 0x0F, 0x52, 0xE2}),
            kNone);
  const float in[4] = {4.0f, 0.5f, 3.0f, 100.0f};
  for (unsigned k = 0; k < 4; ++k) {
    EXPECT_NEAR(x(3).f[k] * in[k], 1.0f, 1.0f / 2048);
    EXPECT_NEAR(x(4).f[k] * std::sqrt(in[k]), 1.0f, 1.0f / 2048);
  }
}

TEST_F(SseFloat, RoundingControlAppliesToArithmetic) {
  double down = 0, up = 0;
  for (unsigned rc : {1u, 2u}) {
    cpu.fpu.mxcsr = 0x1F80 | (rc << 13);
    set_pd(1, 1.0, 0);
    set_pd(2, 3.0, 0);
    ASSERT_EQ(run({/* divsd xmm1, xmm2 */ 0xF2, 0x0F, 0x5E, 0xCA}), kNone);
    (rc == 1 ? down : up) = x(1).f64[0];
    EXPECT_EQ(cpu.fpu.mxcsr & 0x3F, 0x20u);  // PE
  }
  EXPECT_EQ(bits(up) - bits(down), 1u);
  EXPECT_LT(down, up);
  EXPECT_TRUE(1.0 / 3.0 == down || 1.0 / 3.0 == up);
}

TEST_F(SseFloat, FlushToZeroAndDenormalsAreZero) {
  float tiny = std::numeric_limits<float>::min();  // smallest normal
  set_ps(1, tiny, 0, 0, 0);
  set_ps(2, 0.5f, 0, 0, 0);
  cpu.fpu.mxcsr = 0x1F80 | 0x8000;  // FTZ
  ASSERT_EQ(run({/* mulss xmm1, xmm2 */ 0xF3, 0x0F, 0x59, 0xCA}), kNone);
  EXPECT_EQ(x(1).f[0], 0.0f);
  EXPECT_EQ(cpu.fpu.mxcsr & 0x3F, 0x30u);  // UE and PE
  // DAZ: a denormal input reads as zero.
  set_ps(3, tiny / 4, 0, 0, 0);
  set_ps(4, 1.0f, 0, 0, 0);
  cpu.fpu.mxcsr = 0x1F80 | 0x40;
  ASSERT_EQ(run({/* addss xmm3, xmm4 */ 0xF3, 0x0F, 0x58, 0xDC}), kNone);
  EXPECT_EQ(x(3).f[0], 1.0f);
  cpu.fpu.mxcsr = 0x1F80;
  set_ps(3, tiny / 4, 0, 0, 0);
  ASSERT_EQ(run({/* addss xmm3, xmm4 */ 0xF3, 0x0F, 0x58, 0xDC}), kNone);
  EXPECT_EQ(cpu.fpu.mxcsr & 0x3F, 0x22u);  // DE and PE without DAZ
}

}  // namespace
}  // namespace vessel::cpu

// SSE4.1 on the software CPU: known results, the imm8 rounding control and
// precision suppression of ROUNDxx, PTEST flags, the implicit XMM0 mask of
// the variable blends, inserts/extracts and memory alignment rules. (Every
// form is also compared with the host in cpu_sse_host_test.cc.)
#include <cmath>
#include <limits>

#include "cpu/exec/cpuid.h"
#include "cpu_sse_fixture.h"

namespace vessel::cpu {
namespace {

using Sse41 = SseTest;

TEST_F(Sse41, RoundUsesTheImmediateOrMxcsrRoundingControl) {
  set_pd(2, -2.5, 2.5);
  cpu.fpu.mxcsr = 0x1F80 | (1u << 13);  // MXCSR: round down
  ASSERT_EQ(run({/* roundpd xmm1, xmm2, 0 (nearest) */ 0x66, 0x0F, 0x3A, 0x09, 0xCA, 0x00}), kNone);
  EXPECT_EQ(x(1).f64[0], -2.0);
  EXPECT_EQ(x(1).f64[1], 2.0);
  EXPECT_EQ(cpu.fpu.mxcsr & 0x3F, 0x20u);  // precision
  cpu.fpu.mxcsr = 0x1F80 | (1u << 13);
  ASSERT_EQ(run({/* roundpd xmm1, xmm2, 0xC (MXCSR, no PE) */ 0x66, 0x0F, 0x3A, 0x09, 0xCA, 0x0C}),
            kNone);
  EXPECT_EQ(x(1).f64[0], -3.0);
  EXPECT_EQ(x(1).f64[1], 2.0);
  EXPECT_EQ(cpu.fpu.mxcsr & 0x3F, 0u);
  set_ps(2, -0.25f, 0.75f, 1e30f, -1.5f);
  ASSERT_EQ(run({/* roundps xmm1, xmm2, 3 (truncate) */ 0x66, 0x0F, 0x3A, 0x08, 0xCA, 0x03}),
            kNone);
  EXPECT_EQ(bits(x(1).f[0]), 0x80000000u);  // -0.0
  EXPECT_EQ(x(1).f[1], 0.0f);
  EXPECT_EQ(x(1).f[2], 1e30f);
  EXPECT_EQ(x(1).f[3], -1.0f);
}

TEST_F(Sse41, RoundWithUnmaskedPrecisionFaults) {
  set_pd(1, 7.0, 8.0);
  set_pd(2, 0.5, 0.0);
  cpu.fpu.mxcsr = 0x1F80 & ~0x1000u;  // precision unmasked
  EXPECT_EQ(run({/* roundsd xmm1, xmm2, 2 */ 0x66, 0x0F, 0x3A, 0x0B, 0xCA, 0x02}), kXm);
  EXPECT_EQ(x(1).f64[0], 7.0);
  EXPECT_EQ(run({/* roundsd xmm1, xmm2, 0xA */ 0x66, 0x0F, 0x3A, 0x0B, 0xCA, 0x0A}), kNone);
  EXPECT_EQ(x(1).f64[0], 1.0);
  EXPECT_EQ(x(1).f64[1], 8.0);
}

TEST_F(Sse41, PtestSetsZfAndCf) {
  set_q(1, 0xF0, 0);
  set_q(2, 0x0F, 0);
  ASSERT_EQ(run({/* ptest xmm1, xmm2 */ 0x66, 0x0F, 0x38, 0x17, 0xCA}), kNone);
  EXPECT_EQ(rflags() & rflags::kArith, rflags::kZf);
  set_q(2, 0xF0, 0);
  ASSERT_EQ(run({/* ptest xmm1, xmm2 */ 0x66, 0x0F, 0x38, 0x17, 0xCA}), kNone);
  EXPECT_EQ(rflags() & rflags::kArith, rflags::kCf);
  EXPECT_EQ(x(1).q[0], 0xF0u);
}

TEST_F(Sse41, VariableBlendsUseXmm0) {
  set_q(0, 0x8000000000000000, 0);
  set_q(1, 1, 2);
  set_q(2, 3, 4);
  ASSERT_EQ(run({/* blendvpd xmm1, xmm2 */ 0x66, 0x0F, 0x38, 0x15, 0xCA}), kNone);
  EXPECT_EQ(x(1).q[0], 3u);
  EXPECT_EQ(x(1).q[1], 2u);
  set_q(0, 0x80, 0x8000000000000000);
  set_q(1, 0x1111111111111111, 0x2222222222222222);
  set_q(2, 0x3333333333333333, 0x4444444444444444);
  ASSERT_EQ(run({/* pblendvb xmm1, xmm2 */ 0x66, 0x0F, 0x38, 0x10, 0xCA}), kNone);
  EXPECT_EQ(x(1).q[0], 0x1111111111111133u);
  EXPECT_EQ(x(1).q[1], 0x4422222222222222u);
}

TEST_F(Sse41, InsertAndExtract) {
  set_q(2, 0x0706050403020100, 0x0F0E0D0C0B0A0908);
  cpu.gpr[kRax] = ~0ull;
  ASSERT_EQ(run({/* pextrb eax, xmm2, 13 */ 0x66, 0x0F, 0x3A, 0x14, 0xD0, 0x0D}), kNone);
  EXPECT_EQ(cpu.gpr[kRax], 0x0Du);
  ASSERT_EQ(run({/* pextrd [rbx+1], xmm2, 2 */ 0x66, 0x0F, 0x3A, 0x16, 0x53, 0x01, 0x02}), kNone);
  EXPECT_EQ(bus.get<uint32_t>(kData + 1), 0x0B0A0908u);
  bus.mem[kData + 7] = 0xAB;
  set_q(1, 0, 0);
  ASSERT_EQ(run({/* pinsrb xmm1, [rbx+7], 9 */ 0x66, 0x0F, 0x3A, 0x20, 0x4B, 0x07, 0x09}), kNone);
  EXPECT_EQ(x(1).q[1], 0xAB00u);
  set_ps(1, 1.0f, 2.0f, 3.0f, 4.0f);
  set_ps(2, 5.0f, 6.0f, 7.0f, 8.0f);
  // insertps xmm1, xmm2, 0b10'01'0100: element 2 of xmm2 into element 1, zero element 2.
  ASSERT_EQ(run({0x66, 0x0F, 0x3A, 0x21, 0xCA, 0x94}), kNone);
  EXPECT_EQ(x(1).f[0], 1.0f);
  EXPECT_EQ(x(1).f[1], 7.0f);
  EXPECT_EQ(x(1).f[2], 0.0f);
  EXPECT_EQ(x(1).f[3], 4.0f);
}

TEST_F(Sse41, AlignmentOfMemoryOperands) {
  fill_data(0);
  cpu.gpr[kRsi] = kData + 4;
  EXPECT_EQ(run({/* pmovzxbw xmm1, [rsi] */ 0x66, 0x0F, 0x38, 0x30, 0x0E}), kNone);
  EXPECT_EQ(x(1).w[0], 4u);
  EXPECT_EQ(run({/* roundss xmm1, [rsi], 4 */ 0x66, 0x0F, 0x3A, 0x0A, 0x0E, 0x04}), kNone);
  EXPECT_EQ(run({/* ptest xmm1, [rsi] */ 0x66, 0x0F, 0x38, 0x17, 0x0E}), kGp);
  EXPECT_EQ(run({/* movntdqa xmm1, [rsi] */ 0x66, 0x0F, 0x38, 0x2A, 0x0E}), kGp);
  EXPECT_EQ(run({/* pmulld xmm1, [rsi] */ 0x66, 0x0F, 0x38, 0x40, 0x0E}), kGp);
  cpu.gpr[kRsi] = kData;
  EXPECT_EQ(run({/* movntdqa xmm1, [rsi] */ 0x66, 0x0F, 0x38, 0x2A, 0x0E}), kNone);
  EXPECT_EQ(x(1).b[15], 15u);
}

TEST_F(Sse41, CpuidAdvertisesSse41) {
  CpuidResult r = cpuid(1, 0, 0);
  EXPECT_TRUE(r.ecx & (1u << 19));  // SSE4.1
}

TEST_F(Sse41, DotProductExceptionsArePerStage) {
  // dppd xmm1, xmm2, 0x31: the products overflow (OE, PE) and the add stage
  // would be inf + -inf (IE). Precision unmasked: the multiply stage faults
  // with OE|PE, the add stage never runs (no IE), xmm1 is unchanged.
  set_pd(1, 1e300, std::numeric_limits<double>::infinity());
  set_pd(2, 1e300, -1.0);
  cpu.fpu.mxcsr = 0x1F80 & ~0x1000u;
  EXPECT_EQ(run({/* dppd xmm1, xmm2, 0x31 */ 0x66, 0x0F, 0x3A, 0x41, 0xCA, 0x31}), kXm);
  EXPECT_EQ(cpu.fpu.mxcsr & 0x3F, 0x28u);  // OE and PE, no IE
  EXPECT_EQ(x(1).f64[0], 1e300);
  // All masked: every stage runs, the flags of both stages.
  cpu.fpu.mxcsr = 0x1F80;
  EXPECT_EQ(run({/* dppd xmm1, xmm2, 0x31 */ 0x66, 0x0F, 0x3A, 0x41, 0xCA, 0x31}), kNone);
  EXPECT_EQ(cpu.fpu.mxcsr & 0x3F, 0x29u);  // IE, OE, PE
  EXPECT_TRUE(std::isnan(x(1).f64[0]));
  // Invalid unmasked, raised only by the add stage: OE|PE from the
  // multiplies stay (no precedence across stages), then IE faults.
  set_pd(1, 1e300, std::numeric_limits<double>::infinity());
  cpu.fpu.mxcsr = 0x1F80 & ~0x80u;
  EXPECT_EQ(run({/* dppd xmm1, xmm2, 0x31 */ 0x66, 0x0F, 0x3A, 0x41, 0xCA, 0x31}), kXm);
  EXPECT_EQ(cpu.fpu.mxcsr & 0x3F, 0x29u);
  EXPECT_EQ(x(1).f64[0], 1e300);
}

}  // namespace
}  // namespace vessel::cpu

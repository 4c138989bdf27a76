// SSE3 and SSSE3 on the software CPU: known results, memory alignment rules,
// the MMX forms' x87 state, and MONITOR/MWAIT raising #UD. (Every form is
// also compared with the host in cpu_sse_host_test.cc.)
#include "cpu_sse_fixture.h"

namespace vessel::cpu {
namespace {

using Ssse3 = SseTest;

TEST_F(Ssse3, HorizontalAndAlternatingFloat) {
  set_ps(1, 1.0f, 2.0f, 3.0f, 4.0f);
  set_ps(2, 10.0f, 20.0f, 30.0f, 40.0f);
  ASSERT_EQ(run({/* haddps xmm1, xmm2 */ 0xF2, 0x0F, 0x7C, 0xCA}), kNone);
  EXPECT_EQ(x(1).f[0], 3.0f);
  EXPECT_EQ(x(1).f[1], 7.0f);
  EXPECT_EQ(x(1).f[2], 30.0f);
  EXPECT_EQ(x(1).f[3], 70.0f);
  set_pd(1, 5.0, 7.0);
  set_pd(2, 1.0, 2.0);
  ASSERT_EQ(run({/* addsubpd xmm1, xmm2 */ 0x66, 0x0F, 0xD0, 0xCA}), kNone);
  EXPECT_EQ(x(1).f64[0], 4.0);
  EXPECT_EQ(x(1).f64[1], 9.0);
}

TEST_F(Ssse3, AddsubRaisesOnlyForTheLanesItComputes) {
  // Lane 0 subtracts (1 - 1 = 0, exact); lane 1 adds max + max (overflow).
  set_ps(1, 1.0f, 3.0e38f, 1.0f, 1.0f);
  set_ps(2, 1.0f, 3.0e38f, 1.0f, 1.0f);
  cpu.fpu.mxcsr = 0x1F80;
  ASSERT_EQ(run({/* addsubps xmm1, xmm2 */ 0xF2, 0x0F, 0xD0, 0xCA}), kNone);
  EXPECT_EQ(cpu.fpu.mxcsr & 0x3F, 0x28u);  // overflow + precision
  set_ps(1, 3.0e38f, 1.0f, 1.0f, 1.0f);
  set_ps(2, -3.0e38f, 1.0f, 1.0f, 1.0f);
  cpu.fpu.mxcsr = 0x1F80;
  ASSERT_EQ(run({/* addsubps xmm1, xmm2 */ 0xF2, 0x0F, 0xD0, 0xCA}), kNone);
  EXPECT_EQ(cpu.fpu.mxcsr & 0x3F, 0x28u);  // 3e38 - (-3e38) overflows in lane 0
  set_ps(1, 3.0e38f, 1.0f, 1.0f, 1.0f);
  set_ps(2, 3.0e38f, 1.0f, 1.0f, 1.0f);
  cpu.fpu.mxcsr = 0x1F80;
  ASSERT_EQ(run({/* addsubps xmm1, xmm2 */ 0xF2, 0x0F, 0xD0, 0xCA}), kNone);
  EXPECT_EQ(cpu.fpu.mxcsr & 0x3F, 0u);  // the lane-0 add is never done
}

TEST_F(Ssse3, UnmaskedExceptionLeavesTheDestination) {
  set_pd(1, 1.0, 2.0);
  set_pd(2, 0.0, 0.0);
  x(2).q[1] = 0x7FF4000000000000;   // SNaN
  cpu.fpu.mxcsr = 0x1F80 & ~0x80u;  // invalid unmasked
  EXPECT_EQ(run({/* haddpd xmm1, xmm2 */ 0x66, 0x0F, 0x7C, 0xCA}), kXm);
  EXPECT_EQ(x(1).f64[0], 1.0);
  EXPECT_EQ(x(1).f64[1], 2.0);
}

TEST_F(Ssse3, AlignmentOfMemoryOperands) {
  fill_data(0);
  cpu.gpr[kRsi] = kData + 4;
  EXPECT_EQ(run({/* lddqu xmm1, [rsi] */ 0xF2, 0x0F, 0xF0, 0x0E}), kNone);
  EXPECT_EQ(x(1).b[0], 4);
  EXPECT_EQ(run({/* movddup xmm1, [rsi] */ 0xF2, 0x0F, 0x12, 0x0E}), kNone);
  EXPECT_EQ(x(1).q[1], x(1).q[0]);
  EXPECT_EQ(run({/* movshdup xmm1, [rsi] */ 0xF3, 0x0F, 0x16, 0x0E}), kGp);
  EXPECT_EQ(run({/* haddps xmm1, [rsi] */ 0xF2, 0x0F, 0x7C, 0x0E}), kGp);
  EXPECT_EQ(run({/* pshufb xmm1, [rsi] */ 0x66, 0x0F, 0x38, 0x00, 0x0E}), kGp);
  EXPECT_EQ(run({/* palignr xmm1, [rsi], 3 */ 0x66, 0x0F, 0x3A, 0x0F, 0x0E, 0x03}), kGp);
  EXPECT_EQ(run({/* pabsb mm1, [rsi] */ 0x0F, 0x38, 0x1C, 0x0E}), kNone);  // MMX: no alignment
}

TEST_F(Ssse3, ShuffleSignAbsAlign) {
  for (unsigned k = 0; k < 16; ++k) x(1).b[k] = static_cast<uint8_t>(0x10 + k);
  for (unsigned k = 0; k < 16; ++k) x(2).b[k] = static_cast<uint8_t>(15 - k);
  x(2).b[3] = 0x80;
  ASSERT_EQ(run({/* pshufb xmm1, xmm2 */ 0x66, 0x0F, 0x38, 0x00, 0xCA}), kNone);
  EXPECT_EQ(x(1).b[0], 0x1F);
  EXPECT_EQ(x(1).b[3], 0);
  EXPECT_EQ(x(1).b[15], 0x10);
  set_q(1, 0x0000000500000005, 0x8000000000000007);
  set_q(2, 0x00000000FFFFFFFF, 0x0000000100000001);
  ASSERT_EQ(run({/* psignd xmm1, xmm2 */ 0x66, 0x0F, 0x38, 0x0A, 0xCA}), kNone);
  EXPECT_EQ(x(1).q[0], 0x00000000FFFFFFFBu);
  EXPECT_EQ(x(1).q[1], 0x8000000000000007u);
  set_q(2, 0x8000FFFF00017FFF, 0);
  ASSERT_EQ(run({/* pabsw xmm1, xmm2 */ 0x66, 0x0F, 0x38, 0x1D, 0xCA}), kNone);
  EXPECT_EQ(x(1).q[0], 0x8000000100017FFFu);
  set_q(1, 0x1111111111111111, 0x2222222222222222);
  set_q(2, 0x3333333333333333, 0x4444444444444444);
  ASSERT_EQ(run({/* palignr xmm1, xmm2, 8 */ 0x66, 0x0F, 0x3A, 0x0F, 0xCA, 0x08}), kNone);
  EXPECT_EQ(x(1).q[0], 0x4444444444444444u);
  EXPECT_EQ(x(1).q[1], 0x1111111111111111u);
}

TEST_F(Ssse3, MmxFormsUseTheLowQuadwordAndEnterMmxState) {
  cpu.fpu.x87.regs[1].significand = 0x0004000300020001;
  cpu.fpu.x87.regs[2].significand = 0x0040003000200010;
  cpu.fpu.x87.ftw = 0xFFFF;    // all empty
  cpu.fpu.x87.fsw = 3u << 11;  // TOP = 3
  ASSERT_EQ(run({/* phaddw mm1, mm2 */ 0x0F, 0x38, 0x01, 0xCA}), kNone);
  EXPECT_EQ(cpu.fpu.x87.regs[1].significand, 0x0070003000070003u);
  EXPECT_EQ(cpu.fpu.x87.regs[1].sign_exponent, 0xFFFF);
  EXPECT_EQ(cpu.fpu.x87.ftw, 0);
  EXPECT_EQ(cpu.fpu.x87.fsw & (7u << 11), 0u);
  x(1).q[1] = 0x1234;
  ASSERT_EQ(run({/* pshufb mm1, mm2 */ 0x0F, 0x38, 0x00, 0xCA}), kNone);
  EXPECT_EQ(x(1).q[1], 0x1234u);  // XMM1 is not MM1
}

TEST_F(Ssse3, MonitorAndMwaitAreUndefined) {
  EXPECT_EQ(run({/* monitor */ 0x0F, 0x01, 0xC8}), kUd);
  EXPECT_EQ(run({/* mwait */ 0x0F, 0x01, 0xC9}), kUd);
}

TEST_F(Ssse3, UnusableWithoutOsfxsrOrWithTs) {
  cpu.cr4 &= ~cr4::kOsfxsr;
  EXPECT_EQ(run({/* pshufb xmm1, xmm2 */ 0x66, 0x0F, 0x38, 0x00, 0xCA}), kUd);
  cpu.cr4 |= cr4::kOsfxsr;
  cpu.cr0 |= cr0::kTs;
  EXPECT_EQ(run({/* movsldup xmm1, xmm2 */ 0xF3, 0x0F, 0x12, 0xCA}), kNm);
}

}  // namespace
}  // namespace vessel::cpu

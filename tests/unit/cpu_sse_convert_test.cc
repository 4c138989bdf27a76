// SSE/SSE2 conversions on the software CPU: integer <-> single/double with
// general registers and memory, the MXCSR rounding modes of CVTSD2SI, the
// truncating forms, the integer indefinite value, and packed conversions.
#include "cpu_sse_fixture.h"

#include <limits>

namespace vessel::cpu {
namespace {

using SseConvert = SseTest;

TEST_F(SseConvert, IntegerToFloat) {
  cpu.gpr[kRax] = 0xFFFFFFFB;  // -5 as a 32-bit integer
  cpu.gpr[kRcx] = (1ull << 53) + 1;
  bus.put_obj<int32_t>(kData, 7);
  set_pd(1, 0, 42.0);
  set_ps(3, 0, 1, 2, 3);
  ASSERT_EQ(run({/* cvtsi2sd xmm1, eax; cvtsi2sd xmm2, rcx; cvtsi2ss xmm3, dword ptr [rbx]; cvtsi2ss
                    xmm4, rax */
                 0xF2, 0x0F, 0x2A, 0xC8, 0xF2, 0x48, 0x0F, 0x2A, 0xD1, 0xF3, 0x0F, 0x2A, 0x1B, 0xF3,
                 0x48, 0x0F, 0x2A, 0xE0}),
            kNone);
  EXPECT_EQ(x(1).f64[0], -5.0);
  EXPECT_EQ(x(1).f64[1], 42.0);                // kept
  EXPECT_EQ(x(2).f64[0], 9007199254740992.0);  // 2^53 + 1 rounds to even
  EXPECT_EQ(x(3).f[0], 7.0f);
  EXPECT_EQ(x(3).f[3], 3.0f);
  EXPECT_EQ(x(4).f[0], 4294967291.0f);  // the 64-bit RAX, positive
  EXPECT_EQ(cpu.fpu.mxcsr & 0x3F, 0x20u);
}

TEST_F(SseConvert, Cvtsd2siHonoursRoundingControl) {
  // Rows: RC = nearest, down, up, toward zero. Columns: 2.5, -2.5, 3.5, -1.2.
  const int64_t expect[4][4] = {{2, -2, 4, -1}, {2, -3, 3, -2}, {3, -2, 4, -1}, {2, -2, 3, -1}};
  const double in[4] = {2.5, -2.5, 3.5, -1.2};
  for (unsigned rc = 0; rc < 4; ++rc) {
    for (unsigned k = 0; k < 4; ++k) {
      cpu.fpu.mxcsr = 0x1F80 | (rc << 13);
      set_pd(1, in[k], 0);
      ASSERT_EQ(run({/* cvtsd2si rax, xmm1; cvtsd2si ecx, xmm1; cvttsd2si rdx, xmm1 */ 0xF2, 0x48,
                     0x0F, 0x2D, 0xC1, 0xF2, 0x0F, 0x2D, 0xC9, 0xF2, 0x48, 0x0F, 0x2C, 0xD1}),
                kNone);
      EXPECT_EQ(static_cast<int64_t>(cpu.gpr[kRax]), expect[rc][k]) << rc << " " << in[k];
      EXPECT_EQ(cpu.gpr[kRcx], static_cast<uint32_t>(expect[rc][k]));
      EXPECT_EQ(static_cast<int64_t>(cpu.gpr[kRdx]), static_cast<int64_t>(in[k]));
    }
  }
}

TEST_F(SseConvert, OutOfRangeGivesIntegerIndefinite) {
  set_pd(1, 1e20, 0);
  set_pd(2, std::numeric_limits<double>::quiet_NaN(), 0);
  set_ps(3, 3e9f, 0, 0, 0);
  bus.put_obj<float>(kData, -7.9f);
  ASSERT_EQ(run({/* cvttsd2si rax, xmm1; cvtsd2si ecx, xmm2; cvttss2si edx, xmm3; cvttss2si rsi,
                    dword ptr [rbx]; cvtss2si rdi, xmm3 */
                 0xF2, 0x48, 0x0F, 0x2C, 0xC1, 0xF2, 0x0F, 0x2D, 0xCA, 0xF3, 0x0F, 0x2C,
                 0xD3, 0xF3, 0x48, 0x0F, 0x2C, 0x33, 0xF3, 0x48, 0x0F, 0x2D, 0xFB}),
            kNone);
  EXPECT_EQ(cpu.gpr[kRax], 0x8000000000000000u);
  EXPECT_EQ(cpu.gpr[kRcx], 0x80000000u);
  EXPECT_EQ(cpu.gpr[kRdx], 0x80000000u);
  EXPECT_EQ(static_cast<int64_t>(cpu.gpr[kRsi]), -7);
  EXPECT_EQ(cpu.gpr[kRdi], 3000000000u);
  EXPECT_TRUE(cpu.fpu.mxcsr & 1);  // IE
}

TEST_F(SseConvert, PackedConversions) {
  set_ps(1, 1.5f, -2.25f, 9, 9);
  set_pd(2, 0.1, -3.0);
  set_q(3, 0xFFFFFFFF00000003, 0x0000000500000004);  // {3, -1, 4, 5}
  x(4) = x(3);
  set_ps(5, 1.7f, -1.7f, 2.5f, 1e10f);
  set_pd(6, 2.5, -0.5);
  set_pd(7, 1.0, 2.0);
  ASSERT_EQ(run({/* cvtps2pd xmm8, xmm1; cvtpd2ps xmm9, xmm2; cvtdq2ps xmm10, xmm3; cvtdq2pd xmm11,
                    xmm4; cvttps2dq xmm12, xmm5; cvtps2dq xmm13, xmm5; cvtpd2dq xmm14, xmm6;
                    cvtss2sd xmm7, xmm1; cvtsd2ss xmm1, xmm2 */
                 0x44, 0x0F, 0x5A, 0xC1, 0x66, 0x44, 0x0F, 0x5A, 0xCA, 0x44, 0x0F, 0x5B, 0xD3, 0xF3,
                 0x44, 0x0F, 0xE6, 0xDC, 0xF3, 0x44, 0x0F, 0x5B, 0xE5, 0x66, 0x44, 0x0F, 0x5B, 0xED,
                 0xF2, 0x44, 0x0F, 0xE6, 0xF6, 0xF3, 0x0F, 0x5A, 0xF9, 0xF2, 0x0F, 0x5A, 0xCA}),
            kNone);
  EXPECT_EQ(x(8).f64[0], 1.5);
  EXPECT_EQ(x(8).f64[1], -2.25);
  EXPECT_EQ(x(9).f[0], 0.1f);
  EXPECT_EQ(x(9).f[1], -3.0f);
  EXPECT_EQ(x(9).q[1], 0u);
  EXPECT_EQ(x(10).f[1], -1.0f);
  EXPECT_EQ(x(10).f[3], 5.0f);
  EXPECT_EQ(x(11).f64[0], 3.0);
  EXPECT_EQ(x(11).f64[1], -1.0);
  EXPECT_EQ(static_cast<int32_t>(x(12).d[0]), 1);
  EXPECT_EQ(static_cast<int32_t>(x(12).d[1]), -1);
  EXPECT_EQ(x(12).d[3], 0x80000000u);
  EXPECT_EQ(static_cast<int32_t>(x(13).d[0]), 2);
  EXPECT_EQ(static_cast<int32_t>(x(13).d[2]), 2);  // 2.5 to even
  EXPECT_EQ(static_cast<int32_t>(x(14).d[0]), 2);
  EXPECT_EQ(static_cast<int32_t>(x(14).d[1]), 0);
  EXPECT_EQ(x(14).q[1], 0u);
  EXPECT_EQ(x(7).f64[0], 1.5);
  EXPECT_EQ(x(7).f64[1], 2.0);
  EXPECT_EQ(x(1).f[0], 0.1f);
  EXPECT_EQ(x(1).f[1], -2.25f);
}

}  // namespace
}  // namespace vessel::cpu

// SSE2 packed integer instructions on the software CPU, with values worked
// out by hand: the string-search idiom (PCMPEQB/PMOVMSKB/PMINUB), wrapping
// and saturating arithmetic, multiplies, packs, shuffles, unpacks, shifts.
#include "cpu_sse_fixture.h"

namespace vessel::cpu {
namespace {

using SseInteger = SseTest;

TEST_F(SseInteger, StrlenIdiom) {
  const char text[] = "hello, world";
  std::memset(bus.mem.data() + kData, 0x55, 32);
  std::memcpy(bus.mem.data() + kData, text, sizeof text);  // NUL at offset 12
  ASSERT_EQ(run({/* pxor xmm0, xmm0; movdqu xmm1, [rbx]; pcmpeqb xmm1, xmm0; pmovmskb eax, xmm1;
                    movdqa xmm2, [rbx]; pminub xmm2, [rbx+16]; pcmpeqb xmm2, xmm0; pmovmskb ecx,
                    xmm2; bsf edx, eax */
                 0x66, 0x0F, 0xEF, 0xC0, 0xF3, 0x0F, 0x6F, 0x0B, 0x66, 0x0F, 0x74, 0xC8,
                 0x66, 0x0F, 0xD7, 0xC1, 0x66, 0x0F, 0x6F, 0x13, 0x66, 0x0F, 0xDA, 0x53,
                 0x10, 0x66, 0x0F, 0x74, 0xD0, 0x66, 0x0F, 0xD7, 0xCA, 0x0F, 0xBC, 0xD0}),
            kNone);
  EXPECT_EQ(cpu.gpr[kRax], 1u << 12);
  EXPECT_EQ(cpu.gpr[kRcx], 1u << 12);
  EXPECT_EQ(cpu.gpr[kRdx], 12u);
}

TEST_F(SseInteger, AddSubtractWrapAndSaturate) {
  set_q(1, 0x7F80FF0001FE7F10, 0xFFFFFFFFFFFFFFFF);
  set_q(2, 0x0101010101030120, 0x0000000000000001);
  for (unsigned r = 3; r <= 8; ++r) x(r) = x(1);
  ASSERT_EQ(
      run({/* paddb xmm1, xmm2; paddusb xmm3, xmm2; paddsb xmm4, xmm2; psubusb xmm5, xmm2;
              paddq xmm6, xmm2; psubb xmm7, xmm2; psubsw xmm8, xmm2 */
           0x66, 0x0F, 0xFC, 0xCA, 0x66, 0x0F, 0xDC, 0xDA, 0x66, 0x0F, 0xEC, 0xE2, 0x66, 0x0F, 0xD8,
           0xEA, 0x66, 0x0F, 0xD4, 0xF2, 0x66, 0x0F, 0xF8, 0xFA, 0x66, 0x44, 0x0F, 0xE9, 0xC2}),
      kNone);
  EXPECT_EQ(x(1).q[0], 0x8081000102018030u);
  EXPECT_EQ(x(3).q[0], 0x8081FF0102FF8030u);  // unsigned saturation at 0xFF
  EXPECT_EQ(x(4).q[0], 0x7F81000102017F30u);  // signed saturation at 0x7F
  EXPECT_EQ(x(5).q[0], 0x7E7FFE0000FB7E00u);
  EXPECT_EQ(x(6).q[0], 0x8082000103018030u);  // 64-bit lanes: carries inside the lane only
  EXPECT_EQ(x(6).q[1], 0u);
  EXPECT_EQ(x(7).q[0], 0x7E7FFEFF00FB7EF0u);
  EXPECT_EQ(x(8).q[0], 0x7E7FFDFF00FB7DF0u);
}

TEST_F(SseInteger, Multiplies) {
  set_q(1, 0x0003FFFF80007FFF, 0x0000000000000010);  // words {7FFF, 8000, FFFF, 0003, 16, 0..}
  set_q(2, 0x0004000280007FFF, 0x0000000000000010);
  for (unsigned r = 3; r <= 5; ++r) x(r) = x(1);
  set_q(6, 0x00000002FFFFFFFF, 0x0000000100000003);
  set_q(7, 0x00000005FFFFFFFF, 0x0000000200000007);
  ASSERT_EQ(run({/* pmullw xmm1, xmm2; pmulhw xmm3, xmm2; pmulhuw xmm4, xmm2; pmaddwd xmm5, xmm2;
                    pmuludq xmm6, xmm7 */
                 0x66, 0x0F, 0xD5, 0xCA, 0x66, 0x0F, 0xE5, 0xDA, 0x66, 0x0F,
                 0xE4, 0xE2, 0x66, 0x0F, 0xF5, 0xEA, 0x66, 0x0F, 0xF4, 0xF7}),
            kNone);
  EXPECT_EQ(x(1).w[0], 0x0001);  // 7FFF * 7FFF = 3FFF0001
  EXPECT_EQ(x(1).w[3], 0x000C);
  EXPECT_EQ(x(3).w[0], 0x3FFF);
  EXPECT_EQ(x(3).w[1], 0x4000);  // -32768 * -32768 = 0x40000000
  EXPECT_EQ(x(3).w[2], 0xFFFF);  // -1 * 2 = -2
  EXPECT_EQ(x(4).w[1], 0x4000);
  EXPECT_EQ(x(4).w[2], 0x0001);               // FFFF * 2 = 1FFFE
  EXPECT_EQ(x(5).d[0], 0x7FFF0001u);          // 7FFF*7FFF + (-32768)*(-32768)
  EXPECT_EQ(x(5).d[1], 0x0000000Au);          // -1*2 + 3*4
  EXPECT_EQ(x(6).q[0], 0xFFFFFFFE00000001u);  // FFFFFFFF * FFFFFFFF
  EXPECT_EQ(x(6).q[1], 21u);
}

TEST_F(SseInteger, AverageMinMaxSad) {
  set_q(1, 0x00FF8001, 0);
  set_q(2, 0x01FF7F03, 0x0000000000000005);
  x(3) = x(1);
  x(4) = x(1);
  x(5) = x(1);
  ASSERT_EQ(
      run({/* pavgb xmm1, xmm2; pmaxub xmm3, xmm2; pminsw xmm4, xmm2; psadbw xmm5, xmm2 */ 0x66,
           0x0F, 0xE0, 0xCA, 0x66, 0x0F, 0xDE, 0xDA, 0x66, 0x0F, 0xEA, 0xE2, 0x66, 0x0F, 0xF6,
           0xEA}),
      kNone);
  EXPECT_EQ(x(1).q[0], 0x01FF8002u);  // (a + b + 1) >> 1 per byte
  EXPECT_EQ(x(3).q[0], 0x01FF8003u);
  EXPECT_EQ(x(4).w[0], 0x8001);  // signed: -32767 < 0x7F03
  EXPECT_EQ(x(4).w[1], 0x00FF);
  EXPECT_EQ(x(5).q[0], 1u + 0 + 1 + 2);
  EXPECT_EQ(x(5).q[1], 5u);
}

TEST_F(SseInteger, ComparesAndPacks) {
  set_q(1, 0x0000FFFF00017FFF, 0x8000000000000005);
  set_q(2, 0x00000000FFFF0001, 0x7FFF000000000005);
  x(3) = x(1);
  x(4) = x(1);
  x(5) = x(1);
  ASSERT_EQ(
      run({/* pcmpgtw xmm1, xmm2; pcmpeqd xmm3, xmm2; packsswb xmm4, xmm2; packuswb xmm5, xmm2 */
           0x66, 0x0F, 0x65, 0xCA, 0x66, 0x0F, 0x76, 0xDA, 0x66, 0x0F, 0x63, 0xE2, 0x66, 0x0F, 0x67,
           0xEA}),
      kNone);
  EXPECT_EQ(x(1).q[0], 0x00000000FFFFFFFFu);  // 7FFF > 1; 1 > -1; not -1 > 0; not 0 > 0
  EXPECT_EQ(x(1).q[1], 0u);                   // 5 > 5, 0 > 0, -32768 > 32767: all false
  EXPECT_EQ(x(3).d[2], 0xFFFFFFFFu);          // 5 == 5
  EXPECT_EQ(x(3).d[0], 0u);
  // Words of xmm4 {7FFF, 1, FFFF, 0, 5, 0, 0, 8000} -> bytes with signed saturation.
  EXPECT_EQ(x(4).q[0], 0x8000000500FF017Fu);
  EXPECT_EQ(x(5).q[0], 0x00000005000001FFu);  // negative -> 0, 7FFF -> FF
}

TEST_F(SseInteger, ShufflesAndUnpacks) {
  set_q(1, 0x0000000100000000, 0x0000000300000002);
  set_q(2, 0x0003000200010000, 0x0007000600050004);
  set_q(3, 0x0706050403020100, 0x0F0E0D0C0B0A0908);
  x(4) = x(3);
  set_q(5, 0, 0);
  x(6) = x(3);
  ASSERT_EQ(
      run({/* pshufd xmm7, xmm1, 0x1B; pshuflw xmm8, xmm2, 0x1B; pshufhw xmm9, xmm2, 0x00;
              punpcklbw xmm3, xmm5; punpckhqdq xmm4, xmm6; punpckldq xmm6, xmm1 */
           0x66, 0x0F, 0x70, 0xF9, 0x1B, 0xF2, 0x44, 0x0F, 0x70, 0xC2, 0x1B, 0xF3, 0x44, 0x0F, 0x70,
           0xCA, 0x00, 0x66, 0x0F, 0x60, 0xDD, 0x66, 0x0F, 0x6D, 0xE6, 0x66, 0x0F, 0x62, 0xF1}),
      kNone);
  EXPECT_EQ(x(7).q[0], 0x0000000200000003u);
  EXPECT_EQ(x(7).q[1], 0x0000000000000001u);
  EXPECT_EQ(x(8).q[0], 0x0000000100020003u);
  EXPECT_EQ(x(8).q[1], 0x0007000600050004u);
  EXPECT_EQ(x(9).q[0], 0x0003000200010000u);
  EXPECT_EQ(x(9).q[1], 0x0004000400040004u);
  EXPECT_EQ(x(3).q[0], 0x0003000200010000u);  // bytes zero-extended to words
  EXPECT_EQ(x(3).q[1], 0x0007000600050004u);
  EXPECT_EQ(x(4).q[0], 0x0F0E0D0C0B0A0908u);
  EXPECT_EQ(x(4).q[1], 0x0F0E0D0C0B0A0908u);
  EXPECT_EQ(x(6).q[0], 0x0000000003020100u);
  EXPECT_EQ(x(6).q[1], 0x0000000107060504u);
}

TEST_F(SseInteger, Shifts) {
  set_q(1, 0x0706050403020100, 0x0F0E0D0C0B0A0908);
  for (unsigned r = 2; r <= 9; ++r) x(r) = x(1);
  set_q(10, 64, 0);
  set_q(11, 4, 0);
  set_q(12, 0x8000700080000001, 0xFFFFFFFF80000000);
  x(13) = x(12);
  ASSERT_EQ(
      run({/* pslldq xmm1, 3; psrldq xmm2, 17; psrldq xmm3, 15; psllw xmm4, 4; psrlq xmm5,
              xmm10; psllq xmm6, xmm11; psraw xmm12, 20; psrad xmm13, 4 */
           0x66, 0x0F, 0x73, 0xF9, 0x03, 0x66, 0x0F, 0x73, 0xDA, 0x11, 0x66, 0x0F, 0x73, 0xDB,
           0x0F, 0x66, 0x0F, 0x71, 0xF4, 0x04, 0x66, 0x41, 0x0F, 0xD3, 0xEA, 0x66, 0x41, 0x0F,
           0xF3, 0xF3, 0x66, 0x41, 0x0F, 0x71, 0xE4, 0x14, 0x66, 0x41, 0x0F, 0x72, 0xE5, 0x04}),
      kNone);
  EXPECT_EQ(x(1).q[0], 0x0403020100000000u);
  EXPECT_EQ(x(1).q[1], 0x0C0B0A0908070605u);
  EXPECT_EQ(x(2).q[0] | x(2).q[1], 0u);
  EXPECT_EQ(x(3).q[0], 0x0Fu);
  EXPECT_EQ(x(4).q[0], 0x7060504030201000u);
  EXPECT_EQ(x(5).q[0] | x(5).q[1], 0u);  // count 64 clears
  EXPECT_EQ(x(6).q[0], 0x7060504030201000u);
  EXPECT_EQ(x(12).q[0], 0xFFFF0000FFFF0000u);  // count past 15 fills with the sign
  EXPECT_EQ(x(13).q[0], 0xF8000700F8000000u);
  EXPECT_EQ(x(13).q[1], 0xFFFFFFFFF8000000u);
}

}  // namespace
}  // namespace vessel::cpu

// SSE/SSE2 data movement on the software CPU: aligned and unaligned 16-byte
// loads and stores (#GP on misalignment, all-or-nothing page-crossing
// stores), scalar and half moves, MOVD/MOVQ with general registers, sign
// masks, PEXTRW/PINSRW, MASKMOVDQU and the non-temporal stores.
#include "cpu_sse_fixture.h"

namespace vessel::cpu {
namespace {

using SseMove = SseTest;

TEST_F(SseMove, AlignedLoadAndStore) {
  fill_data(0);
  ASSERT_EQ(run({/* movaps xmm1, [rbx]; movdqa [rbx+0x20], xmm1; movapd xmm10, [rbx+0x20] */ 0x0F,
                 0x28, 0x0B, 0x66, 0x0F, 0x7F, 0x4B, 0x20, 0x66, 0x44, 0x0F, 0x28, 0x53, 0x20}),
            kNone);
  EXPECT_EQ(x(1).q[0], 0x0706050403020100u);
  EXPECT_EQ(x(1).q[1], 0x0F0E0D0C0B0A0908u);
  for (unsigned k = 0; k < 16; ++k) EXPECT_EQ(bus.mem[kData + 0x20 + k], k);
  EXPECT_EQ(x(10).q[1], 0x0F0E0D0C0B0A0908u);
}

TEST_F(SseMove, MisalignedAlignedFormsRaiseGp) {
  fill_data(0);
  set_q(2, 1, 2);
  cpu.gpr[kRbx] = kData + 8;
  EXPECT_EQ(run({/* movaps xmm2, [rbx] */ 0x0F, 0x28, 0x13}), kGp);
  EXPECT_EQ(x(2).q[0], 1u);  // unchanged
  EXPECT_EQ(run({/* movdqa [rbx], xmm2 */ 0x66, 0x0F, 0x7F, 0x13}), kGp);
  EXPECT_EQ(bus.mem[kData + 8], 8);  // nothing written
  EXPECT_EQ(run({/* paddb xmm2, [rbx] */ 0x66, 0x0F, 0xFC, 0x13}), kGp);
  EXPECT_EQ(run({/* movntdq [rbx], xmm2 */ 0x66, 0x0F, 0xE7, 0x13}), kGp);
  // Unaligned forms and 8-byte operands are fine.
  EXPECT_EQ(run({/* movups xmm3, [rbx+1]; movdqu [rbx+0x31], xmm3; movsd xmm4, [rbx+1] */ 0x0F,
                 0x10, 0x5B, 0x01, 0xF3, 0x0F, 0x7F, 0x5B, 0x31, 0xF2, 0x0F, 0x10, 0x63, 0x01}),
            kNone);
  EXPECT_EQ(x(3).q[0], 0x100F0E0D0C0B0A09u);
  EXPECT_EQ(bus.mem[kData + 0x39], 9);
  EXPECT_EQ(x(4).q[0], 0x100F0E0D0C0B0A09u);
}

TEST_F(SseMove, PageCrossingStoreIsAllOrNothing) {
  // Make 0x400000-0x5FFFFF not present; store 16 bytes at 0x3FFFF8.
  bus.put_obj<uint64_t>(testing::kPml4 + 0x2000 + 2 * 8, 0);
  cpu.flush_tlb();
  cpu.gpr[kRbx] = 0x3FFFF8;
  set_q(1, 0x1111111111111111, 0x2222222222222222);
  EXPECT_EQ(run({/* movups [rbx], xmm1 */ 0x0F, 0x11, 0x0B}), kPf);
  EXPECT_EQ(cpu.cr2, 0x400000u);
  for (unsigned k = 0; k < 8; ++k) EXPECT_EQ(bus.mem[0x3FFFF8 + k], 0);
  // A load crossing into it faults too and leaves the register.
  EXPECT_EQ(run({/* movdqu xmm1, [rbx] */ 0xF3, 0x0F, 0x6F, 0x0B}), kPf);
  EXPECT_EQ(x(1).q[0], 0x1111111111111111u);
}

TEST_F(SseMove, ScalarMovesZeroOnLoadMergeBetweenRegisters) {
  fill_data(0x40);
  set_q(1, ~0ull, ~0ull);
  set_q(2, ~0ull, ~0ull);
  set_q(3, 0x1122334455667788, 0x99AABBCCDDEEFF00);
  set_q(4, ~0ull, ~0ull);
  set_q(5, ~0ull, ~0ull);
  set_q(6, ~0ull, ~0ull);
  ASSERT_EQ(run({/* movss xmm1, [rbx]; movss xmm2, xmm3; movsd xmm4, xmm3; movq xmm5, xmm3; movsd
                    xmm6, [rbx+8]; movss [rbx+0x40], xmm3; movsd [rbx+0x50], xmm3 */
                 0xF3, 0x0F, 0x10, 0x0B, 0xF3, 0x0F, 0x10, 0xD3, 0xF2, 0x0F, 0x10,
                 0xE3, 0xF3, 0x0F, 0x7E, 0xEB, 0xF2, 0x0F, 0x10, 0x73, 0x08, 0xF3,
                 0x0F, 0x11, 0x5B, 0x40, 0xF2, 0x0F, 0x11, 0x5B, 0x50}),
            kNone);
  EXPECT_EQ(x(1).q[0], 0x43424140u);
  EXPECT_EQ(x(1).q[1], 0u);
  EXPECT_EQ(x(2).q[0], 0xFFFFFFFF55667788u);
  EXPECT_EQ(x(2).q[1], ~0ull);
  EXPECT_EQ(x(4).q[0], 0x1122334455667788u);
  EXPECT_EQ(x(4).q[1], ~0ull);
  EXPECT_EQ(x(5).q[1], 0u);
  EXPECT_EQ(x(6).q[0], 0x4F4E4D4C4B4A4948u);
  EXPECT_EQ(x(6).q[1], 0u);
  EXPECT_EQ(bus.get<uint64_t>(kData + 0x40), 0x8786858455667788u);  // 4 bytes written
  EXPECT_EQ(bus.get<uint64_t>(kData + 0x50), 0x1122334455667788u);
  EXPECT_EQ(bus.mem[kData + 0x58], 0x98);  // 8 bytes only
}

TEST_F(SseMove, MovdMovqWithGeneralRegisters) {
  cpu.gpr[kRax] = 0x1122334455667788;
  cpu.gpr[kRcx] = ~0ull;
  set_q(1, ~0ull, ~0ull);
  set_q(2, ~0ull, ~0ull);
  ASSERT_EQ(run({/* movd xmm1, eax; movq xmm2, rax; movd ecx, xmm2; movq rdx, xmm2; movd [rbx],
                    xmm2; movq [rbx+8], xmm2; movd xmm3, [rbx+8]; movq xmm4, [rbx] */
                 0x66, 0x0F, 0x6E, 0xC8, 0x66, 0x48, 0x0F, 0x6E, 0xD0, 0x66, 0x0F, 0x7E,
                 0xD1, 0x66, 0x48, 0x0F, 0x7E, 0xD2, 0x66, 0x0F, 0x7E, 0x13, 0x66, 0x0F,
                 0xD6, 0x53, 0x08, 0x66, 0x0F, 0x6E, 0x5B, 0x08, 0xF3, 0x0F, 0x7E, 0x23}),
            kNone);
  EXPECT_EQ(x(1).q[0], 0x55667788u);
  EXPECT_EQ(x(1).q[1], 0u);
  EXPECT_EQ(x(2).q[0], 0x1122334455667788u);
  EXPECT_EQ(x(2).q[1], 0u);
  EXPECT_EQ(cpu.gpr[kRcx], 0x55667788u);
  EXPECT_EQ(cpu.gpr[kRdx], 0x1122334455667788u);
  EXPECT_EQ(bus.get<uint32_t>(kData), 0x55667788u);
  EXPECT_EQ(bus.get<uint64_t>(kData + 8), 0x1122334455667788u);
  EXPECT_EQ(x(3).q[0], 0x55667788u);
  EXPECT_EQ(x(4).q[0], 0x55667788u);  // only 4 bytes were stored at [rbx]
}

TEST_F(SseMove, HighAndLowHalves) {
  bus.put_obj<uint64_t>(kData, 0xAAAAAAAAAAAAAAAA);
  set_q(1, 1, 2);
  set_q(2, 3, 4);
  set_q(3, 5, 6);
  set_q(4, 7, 8);
  set_q(5, 9, 10);
  ASSERT_EQ(run({/* movhps xmm1, [rbx]; movlpd xmm2, [rbx]; movhlps xmm3, xmm4; movlhps xmm4, xmm5;
                    movhpd [rbx+0x10], xmm5; movlps [rbx+0x18], xmm5 */
                 0x0F, 0x16, 0x0B, 0x66, 0x0F, 0x12, 0x13, 0x0F, 0x12, 0xDC, 0x0F,
                 0x16, 0xE5, 0x66, 0x0F, 0x17, 0x6B, 0x10, 0x0F, 0x13, 0x6B, 0x18}),
            kNone);
  EXPECT_EQ(x(1).q[0], 1u);
  EXPECT_EQ(x(1).q[1], 0xAAAAAAAAAAAAAAAAu);
  EXPECT_EQ(x(2).q[0], 0xAAAAAAAAAAAAAAAAu);
  EXPECT_EQ(x(2).q[1], 4u);
  EXPECT_EQ(x(3).q[0], 8u);
  EXPECT_EQ(x(3).q[1], 6u);
  EXPECT_EQ(x(4).q[0], 7u);
  EXPECT_EQ(x(4).q[1], 9u);
  EXPECT_EQ(bus.get<uint64_t>(kData + 0x10), 10u);
  EXPECT_EQ(bus.get<uint64_t>(kData + 0x18), 9u);
}

TEST_F(SseMove, SignMasks) {
  set_ps(1, -1.0f, 2.0f, -0.0f, 3.0f);
  set_pd(2, 1.0, -2.0);
  set_q(3, 0x8000000000000080, 0xFF00000000000001);
  ASSERT_EQ(run({/* movmskps eax, xmm1; movmskpd ecx, xmm2; pmovmskb edx, xmm3 */ 0x0F, 0x50, 0xC1,
                 0x66, 0x0F, 0x50, 0xCA, 0x66, 0x0F, 0xD7, 0xD3}),
            kNone);
  EXPECT_EQ(cpu.gpr[kRax], 0b0101u);
  EXPECT_EQ(cpu.gpr[kRcx], 0b10u);
  EXPECT_EQ(cpu.gpr[kRdx], 0x8081u);
}

TEST_F(SseMove, PinsrwPextrw) {
  set_q(1, 0, 0);
  cpu.gpr[kRax] = 0xDEADBEEF;
  bus.put_obj<uint16_t>(kData, 0x1234);
  ASSERT_EQ(run({/* pinsrw xmm1, eax, 3; pinsrw xmm1, word ptr [rbx], 7; pextrw ecx, xmm1, 3; pextrw
                    edx, xmm1, 15 */
                 0x66, 0x0F, 0xC4, 0xC8, 0x03, 0x66, 0x0F, 0xC4, 0x0B, 0x07,
                 0x66, 0x0F, 0xC5, 0xC9, 0x03, 0x66, 0x0F, 0xC5, 0xD1, 0x0F}),
            kNone);
  EXPECT_EQ(x(1).q[0], 0xBEEF000000000000u);
  EXPECT_EQ(x(1).q[1], 0x1234000000000000u);
  EXPECT_EQ(cpu.gpr[kRcx], 0xBEEFu);
  EXPECT_EQ(cpu.gpr[kRdx], 0x1234u);  // the selector is taken modulo 8
}

TEST_F(SseMove, MaskmovdquStoresSelectedBytes) {
  fill_data(0);
  set_q(1, 0x1111111111111111, 0x2222222222222222);
  set_q(2, 0x0080008000800080, 0x8000000000000000);
  cpu.gpr[kRdi] = kData + 3;
  ASSERT_EQ(run({/* maskmovdqu xmm1, xmm2 */ 0x66, 0x0F, 0xF7, 0xCA}), kNone);
  for (unsigned k = 0; k < 16; ++k) {
    uint8_t expect = k + 3;
    if (k < 8 && k % 2 == 0) expect = 0x11;
    if (k == 15) expect = 0x22;
    EXPECT_EQ(bus.mem[kData + 3 + k], expect) << k;
  }
}

TEST_F(SseMove, NonTemporalStores) {
  set_q(1, 5, 6);
  cpu.gpr[kRax] = 0x12345678;
  ASSERT_EQ(run({/* movntdq [rbx], xmm1; movntps [rbx+0x10], xmm1; movnti [rbx+0x20], eax */ 0x66,
                 0x0F, 0xE7, 0x0B, 0x0F, 0x2B, 0x4B, 0x10, 0x0F, 0xC3, 0x43, 0x20}),
            kNone);
  EXPECT_EQ(bus.get<uint64_t>(kData + 8), 6u);
  EXPECT_EQ(bus.get<uint64_t>(kData + 0x10), 5u);
  EXPECT_EQ(bus.get<uint32_t>(kData + 0x20), 0x12345678u);
}

TEST_F(SseMove, HighRegistersAndRipRelative) {
  bus.put_obj<uint64_t>(0x2100, 0x0123456789ABCDEF);
  set_q(15, 0, 0);
  // movq xmm15, [rip + disp] with the target at 0x2100.
  ASSERT_EQ(run({/* movq xmm15, [rip + 0x2100 - 0x2009]; movdqa xmm8, xmm15 */ 0xF3, 0x44, 0x0F,
                 0x7E, 0x3D, 0xF7, 0x00, 0x00, 0x00, 0x66, 0x45, 0x0F, 0x6F, 0xC7}),
            kNone);
  EXPECT_EQ(x(15).q[0], 0x0123456789ABCDEFu);
  EXPECT_EQ(x(8).q[0], 0x0123456789ABCDEFu);
}

}  // namespace
}  // namespace vessel::cpu

// MMX state on the software CPU: MM registers alias the x87 registers (TOP
// cleared, tags valid, exponent all ones on a write), EMMS empties the tags,
// #UD with CR0.EM, #NM with CR0.TS, #MF with a pending x87 exception (CR0.NE), and
// MASKMOVQ. (The operations themselves are compared with the host in
// cpu_sse_host_test.cc.)
#include "cpu/exec/cpuid.h"
#include "cpu_sse_fixture.h"

namespace vessel::cpu {
namespace {

using Mmx = SseTest;

TEST_F(Mmx, RegistersAliasTheX87Registers) {
  cpu.fpu.x87.fsw = 5u << 11;  // TOP = 5
  cpu.fpu.x87.ftw = 0xFFFF;
  cpu.fpu.x87.regs[3] = {0x1111222233334444, 0x4000};
  cpu.gpr[kRax] = 0x0102030405060708;
  ASSERT_EQ(run({/* movq mm1, rax; paddb mm1, mm3 */ 0x48, 0x0F, 0x6E, 0xC8, 0x0F, 0xFC, 0xCB}),
            kNone);
  EXPECT_EQ(cpu.fpu.x87.regs[1].significand, 0x1213252638394B4Cu);
  EXPECT_EQ(cpu.fpu.x87.regs[1].sign_exponent, 0xFFFF);
  EXPECT_EQ(cpu.fpu.x87.regs[3].sign_exponent, 0x4000);  // read only: unchanged
  EXPECT_EQ((cpu.fpu.x87.fsw >> 11) & 7, 0);
  EXPECT_EQ(cpu.fpu.x87.ftw, 0);
  ASSERT_EQ(run({/* emms */ 0x0F, 0x77}), kNone);
  EXPECT_EQ(cpu.fpu.x87.ftw, 0xFFFF);
  EXPECT_EQ(cpu.fpu.x87.regs[1].significand, 0x1213252638394B4Cu);
}

TEST_F(Mmx, Exceptions) {
  cpu.cr0 |= cr0::kEm;
  EXPECT_EQ(run({/* pxor mm0, mm0 */ 0x0F, 0xEF, 0xC0}), kUd);
  EXPECT_EQ(run({/* emms */ 0x0F, 0x77}), kUd);
  cpu.cr0 &= ~cr0::kEm;
  cpu.cr0 |= cr0::kTs;
  EXPECT_EQ(run({/* movd mm0, eax */ 0x0F, 0x6E, 0xC0}), kNm);
  cpu.cr0 &= ~cr0::kTs;
  cpu.fpu.x87.fsw = 0x80 | 0x01;  // ES: an unmasked invalid operation is pending
  EXPECT_EQ(run({/* por mm0, mm1 */ 0x0F, 0xEB, 0xC1}), kNone);  // CR0.NE = 0: no #MF
  cpu.fpu.x87.fsw = 0x80 | 0x01;
  cpu.cr0 |= cr0::kNe;
  EXPECT_EQ(run({/* por mm0, mm1 */ 0x0F, 0xEB, 0xC1}), kMf);
  EXPECT_EQ(run({/* cvtpi2ps xmm0, mm1 */ 0x0F, 0x2A, 0xC1}), kMf);
  EXPECT_EQ(run({/* emms */ 0x0F, 0x77}), kMf);
  cpu.fpu.x87.fsw = 0;
  cpu.cr4 &= ~cr4::kOsfxsr;  // MMX does not need OSFXSR...
  EXPECT_EQ(run({/* por mm0, mm1 */ 0x0F, 0xEB, 0xC1}), kNone);
  EXPECT_EQ(run({/* cvtpi2ps xmm0, mm1 */ 0x0F, 0x2A, 0xC1}), kUd);  // ...the XMM forms do
}

TEST_F(Mmx, MaskmovqStoresSelectedBytes) {
  fill_data(0);
  cpu.fpu.x87.regs[1].significand = 0x8877665544332211;
  cpu.fpu.x87.regs[2].significand = 0x8000000080008000;
  cpu.gpr[kRdi] = kData + 1;
  ASSERT_EQ(run({/* maskmovq mm1, mm2 */ 0x0F, 0xF7, 0xCA}), kNone);
  const uint8_t expect[8] = {1, 0x22, 3, 0x44, 5, 6, 7, 0x88};
  for (unsigned k = 0; k < 8; ++k) EXPECT_EQ(bus.mem[kData + 1 + k], expect[k]) << k;
}

TEST_F(Mmx, CpuidAdvertisesMmx) {
  EXPECT_TRUE(cpuid(1, 0, 0).edx & (1u << 23));
}

}  // namespace
}  // namespace vessel::cpu

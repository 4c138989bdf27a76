// The system side of SSE on the software CPU: #UD without CR4.OSFXSR or with
// CR0.EM, #NM with CR0.TS, unmasked SIMD floating-point exceptions (#XM,
// or #UD without CR4.OSXMMEXCPT) leaving the destination, CPUID bits, the
// CR4 bits, and VEX encodings left unbound.
#include "cpu/exec/cpuid.h"
#include "cpu_sse_fixture.h"

namespace vessel::cpu {
namespace {

using SseSystem = SseTest;

TEST_F(SseSystem, UnavailableRaisesUdOrNm) {
  set_q(1, 7, 7);
  cpu.cr4 &= ~cr4::kOsfxsr;
  EXPECT_EQ(run({/* pxor xmm1, xmm1 */ 0x66, 0x0F, 0xEF, 0xC9}), kUd);
  EXPECT_EQ(x(1).q[0], 7u);
  cpu.cr4 |= cr4::kOsfxsr;
  cpu.cr0 |= cr0::kEm;
  EXPECT_EQ(run({/* addsd xmm1, xmm1 */ 0xF2, 0x0F, 0x58, 0xC9}), kUd);
  cpu.cr0 &= ~cr0::kEm;
  cpu.cr0 |= cr0::kTs;
  EXPECT_EQ(run({/* movaps [rbx], xmm1 */ 0x0F, 0x29, 0x0B}), kNm);
  EXPECT_EQ(run({/* cvtsd2si eax, xmm1 */ 0xF2, 0x0F, 0x2D, 0xC1}), kNm);
  EXPECT_EQ(run({/* movd xmm1, eax */ 0x66, 0x0F, 0x6E, 0xC8}), kNm);
  EXPECT_EQ(x(1).q[0], 7u);
  ASSERT_EQ(run({/* clts; pxor xmm1, xmm1 */ 0x0F, 0x06, 0x66, 0x0F, 0xEF, 0xC9}), kNone);
  EXPECT_EQ(x(1).q[0], 0u);
}

TEST_F(SseSystem, UnmaskedExceptionRaisesXmAndKeepsTheDestination) {
  set_pd(1, 1.0, 2.0);
  set_pd(2, 0.0, 1.0);
  cpu.fpu.mxcsr = 0x1F80 & ~(1u << 9);  // ZM clear
  EXPECT_EQ(run({/* divsd xmm1, xmm2 */ 0xF2, 0x0F, 0x5E, 0xCA}), kXm);
  EXPECT_EQ(x(1).f64[0], 1.0);
  EXPECT_EQ(cpu.fpu.mxcsr & 0x3F, 0x04u);      // ZE recorded
  EXPECT_EQ(cpu.rip, kStubs + kXm * 16 + 12);  // in the handler, after the fault
  // Without CR4.OSXMMEXCPT the same exception is #UD.
  cpu.cr4 &= ~cr4::kOsxmmexcpt;
  EXPECT_EQ(run({/* divpd xmm1, xmm2 */ 0x66, 0x0F, 0x5E, 0xCA}), kUd);
  // Masked: the result is infinity and only the flag records it.
  cpu.fpu.mxcsr = 0x1F80;
  ASSERT_EQ(run({/* divsd xmm1, xmm2 */ 0xF2, 0x0F, 0x5E, 0xCA}), kNone);
  EXPECT_TRUE(std::isinf(x(1).f64[0]));
  EXPECT_EQ(cpu.fpu.mxcsr, 0x1F84u);
}

TEST_F(SseSystem, UnmaskedInvalidOnComisdKeepsTheFlags) {
  cpu.cr4 |= cr4::kOsxmmexcpt;
  set_pd(1, std::numeric_limits<double>::quiet_NaN(), 0);
  set_pd(2, 1.0, 0);
  cpu.fpu.mxcsr = 0x1F80 & ~(1u << 7);  // IM clear
  cpu.gpr[kRax] = 0;
  EXPECT_EQ(run({/* xor eax, eax; comisd xmm1, xmm2 */ 0x31, 0xC0, 0x66, 0x0F, 0x2F, 0xCA}), kXm);
  EXPECT_EQ(cpu.get_rflags() & rflags::kArith, rflags::kZf | rflags::kPf);  // from XOR
  cpu.gpr[kRcx] = 0x1234;
  EXPECT_EQ(run({/* cvttsd2si ecx, xmm1 */ 0xF2, 0x0F, 0x2C, 0xC9}), kXm);
  EXPECT_EQ(cpu.gpr[kRcx], 0x1234u);
}

TEST_F(SseSystem, CpuidAdvertisesSseToSse42Only) {
  CpuidResult r = cpuid(1, 0, 0);
  EXPECT_TRUE(r.edx & (1u << 25));
  EXPECT_TRUE(r.edx & (1u << 26));
  EXPECT_TRUE(r.ecx & 1u);           // SSE3
  EXPECT_FALSE(r.ecx & (1u << 3));   // MONITOR/MWAIT
  EXPECT_TRUE(r.ecx & (1u << 9));    // SSSE3
  EXPECT_TRUE(r.ecx & (1u << 19));   // SSE4.1
  EXPECT_TRUE(r.ecx & (1u << 20));   // SSE4.2
  EXPECT_FALSE(r.ecx & (1u << 25));  // AES-NI
  EXPECT_FALSE(r.ecx & (1u << 28));  // AVX
}

TEST_F(SseSystem, Cr4AcceptsOsfxsrAndOsxmmexcpt) {
  cpu.cr4 &= ~(cr4::kOsfxsr | cr4::kOsxmmexcpt);
  cpu.gpr[kRax] = cpu.cr4 | cr4::kOsfxsr | cr4::kOsxmmexcpt;
  ASSERT_EQ(
      run({/* mov cr4, rax; movq xmm3, rax */ 0x0F, 0x22, 0xE0, 0x66, 0x48, 0x0F, 0x6E, 0xD8}),
      kNone);
  EXPECT_TRUE(cpu.cr4 & cr4::kOsfxsr);
  EXPECT_TRUE(cpu.cr4 & cr4::kOsxmmexcpt);
  EXPECT_EQ(x(3).q[0], cpu.gpr[kRax]);
}

TEST_F(SseSystem, VexEncodingsAreNotSse) {
  EXPECT_EQ(run({/* vaddps xmm1, xmm2, xmm3 */ 0xC5, 0xE8, 0x58, 0xCB}), kUd);
}

TEST_F(SseSystem, WorksInProtectedModeWithoutPaging) {
  testing::enter_protected32(cpu, bus);
  cpu.cr4 = cr4::kOsfxsr;
  cpu.idtr = {testing::kIdt, 0};  // any exception would triple fault
  set_q(1, 1, 2);
  bus.put(kCode, {/* .code32; movups [ebx], xmm1; paddq xmm1, xmm1; movdqu xmm2, [ebx] */ 0x0F,
                  0x11, 0x0B, 0x66, 0x0F, 0xD4, 0xC9, 0xF3, 0x0F, 0x6F, 0x13});
  bus.mem[kCode + 11] = 0xF4;
  cpu.block_cache().flush();
  cpu.rip = kCode;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(bus.get<uint64_t>(kData + 8), 2u);
  EXPECT_EQ(x(1).q[1], 4u);
  EXPECT_EQ(x(2).q[0], 1u);
}

}  // namespace
}  // namespace vessel::cpu

// FXSAVE/FXRSTOR, LDMXCSR/STMXCSR and XSAVE/XRSTOR/XGETBV/XSETBV on the
// software CPU: image layouts, alignment and reserved-bit faults, round trips.
#include <gtest/gtest.h>

#include "cpu/exec/cpuid.h"
#include "cpu_x87_fixture.h"

namespace vessel::cpu {
namespace {

using testing::CpuX87;
using testing::kData;

TEST_F(CpuX87, FxsaveLayout) {
  std::memset(bus.mem.data() + 0x6000, 0xAA, 512);
  cpu.fpu.xmm[0].q[0] = 0x1111;
  cpu.fpu.xmm[0].q[1] = 0x2222;
  cpu.fpu.xmm[15].q[0] = 0x3333;
  put<uint16_t>(0x30, 0x027F);
  put<uint32_t>(0x34, 0x3F80);
  ASSERT_EQ(
      run(/* fninit; fldcw word ptr [0x5030]; ldmxcsr [0x5034]; fld1; fldpi; fxsave [0x6000] */ {
          0xdb, 0xe3, 0xd9, 0x2c, 0x25, 0x30, 0x50, 0x00, 0x00, 0x0f, 0xae, 0x14, 0x25, 0x34, 0x50,
          0x00, 0x00, 0xd9, 0xe8, 0xd9, 0xeb, 0x0f, 0xae, 0x04, 0x25, 0x00, 0x60, 0x00, 0x00}),
      -1);
  EXPECT_EQ(bus.get<uint16_t>(0x6000), 0x027F);
  EXPECT_EQ(bus.get<uint16_t>(0x6002), 6u << 11);
  EXPECT_EQ(bus.mem[0x6004], 0xC0);             // abridged tags: R6, R7 in use
  EXPECT_EQ(bus.get<uint16_t>(0x6006), 0x1EB);  // FOP of D9 EB (FLDPI)
  EXPECT_EQ(bus.get<uint32_t>(0x6008), code_start + 19);
  EXPECT_EQ(bus.get<uint16_t>(0x600C), 0x18);
  EXPECT_EQ(bus.get<uint32_t>(0x6018), 0x3F80u);
  EXPECT_EQ(bus.get<uint32_t>(0x601C), 0xFFFFu);
  EXPECT_EQ(bus.get<uint64_t>(0x6020), 0xC90FDAA22168C235ull);
  EXPECT_EQ(bus.get<uint16_t>(0x6028), 0x4000);
  EXPECT_EQ(bus.get<uint64_t>(0x6030), 0x8000000000000000ull);
  EXPECT_EQ(bus.get<uint16_t>(0x6038), 0x3FFF);
  EXPECT_EQ(bus.get<uint64_t>(0x60A0), 0x1111u);
  EXPECT_EQ(bus.get<uint64_t>(0x60A8), 0x2222u);
  EXPECT_EQ(bus.get<uint64_t>(0x6000 + 160 + 15 * 16), 0x3333u);
  EXPECT_EQ(bus.mem[0x6000 + 464], 0xAA);  // the available area is not written
  ASSERT_EQ(run(/* fxsave64 [0x6200] */ {0x48, 0x0f, 0xae, 0x04, 0x25, 0x00, 0x62, 0x00, 0x00}),
            -1);
  EXPECT_EQ(bus.get<uint64_t>(0x6208), code_start - 0x100 + 19);  // 64-bit FIP
}

TEST_F(CpuX87, FxsaveNeedsSixteenByteAlignment) {
  EXPECT_EQ(run(/* fxsave [0x6008] */ {0x0f, 0xae, 0x04, 0x25, 0x08, 0x60, 0x00, 0x00}), kGp);
  EXPECT_EQ(run(/* fxrstor [0x6004] */ {0x0f, 0xae, 0x0c, 0x25, 0x04, 0x60, 0x00, 0x00}), kGp);
}

TEST_F(CpuX87, FxrstorRestoresWhatFxsaveSaved) {
  cpu.fpu.xmm[3].q[0] = 0x123456789ull;
  cpu.fpu.xmm[12].q[1] = 0xABCDEFull;
  ASSERT_EQ(run(/* fninit; fld1; fldl2t; fldpi; fsin; fxsave [0x6000] */ {
                0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xe9, 0xd9, 0xeb, 0xd9, 0xfe, 0x0f, 0xae, 0x04, 0x25,
                0x00, 0x60, 0x00, 0x00}),
            -1);
  FpuState saved = cpu.fpu;
  ASSERT_EQ(run(/* fninit; fldz */ {0xdb, 0xe3, 0xd9, 0xee}), -1);
  cpu.fpu.xmm = {};
  cpu.fpu.mxcsr = 0x1F80 | 0x6000;
  ASSERT_EQ(run(/* fxrstor [0x6000] */ {0x0f, 0xae, 0x0c, 0x25, 0x00, 0x60, 0x00, 0x00}), -1);
  EXPECT_EQ(cpu.fpu.x87.fcw, saved.x87.fcw);
  EXPECT_EQ(cpu.fpu.x87.fsw, saved.x87.fsw);
  EXPECT_EQ(cpu.fpu.x87.ftw, saved.x87.ftw);
  EXPECT_EQ(cpu.fpu.x87.fop, saved.x87.fop);
  EXPECT_EQ(cpu.fpu.x87.fip, saved.x87.fip);
  EXPECT_EQ(cpu.fpu.mxcsr, saved.mxcsr);
  for (unsigned r = 0; r < 8; ++r) {
    if (x87::tag(saved.x87, r) != 3) {
      EXPECT_EQ(cpu.fpu.x87.regs[r], saved.x87.regs[r]);
    }
  }
  for (unsigned r = 0; r < 16; ++r) EXPECT_EQ(cpu.fpu.xmm[r].q[0], saved.xmm[r].q[0]);
  EXPECT_EQ(cpu.fpu.xmm[12].q[1], 0xABCDEFull);
}

TEST_F(CpuX87, FxrstorRejectsReservedMxcsrBits) {
  ASSERT_EQ(run(/* fxsave [0x6000] */ {0x0f, 0xae, 0x04, 0x25, 0x00, 0x60, 0x00, 0x00}), -1);
  bus.put_obj<uint32_t>(0x6018, 0x1F80 | 0x10000);  // bit 16: reserved
  uint16_t fcw = x().fcw;
  x().fcw = 0x0300;
  EXPECT_EQ(run(/* fxrstor [0x6000] */ {0x0f, 0xae, 0x0c, 0x25, 0x00, 0x60, 0x00, 0x00}), kGp);
  EXPECT_EQ(x().fcw, 0x0300);
  EXPECT_NE(fcw, 0x0300);
}

TEST_F(CpuX87, LdmxcsrAndStmxcsr) {
  put<uint32_t>(0, 0x3F80);
  ASSERT_EQ(run(/* ldmxcsr [0x5000]; stmxcsr [0x5004] */ {0x0f, 0xae, 0x14, 0x25, 0x00, 0x50, 0x00,
                                                          0x00, 0x0f, 0xae, 0x1c, 0x25, 0x04, 0x50,
                                                          0x00, 0x00}),
            -1);
  EXPECT_EQ(get<uint32_t>(4), 0x3F80u);
  put<uint32_t>(0, 0x10000);
  EXPECT_EQ(run(/* ldmxcsr [0x5000] */ {0x0f, 0xae, 0x14, 0x25, 0x00, 0x50, 0x00, 0x00}), kGp);
  EXPECT_EQ(cpu.fpu.mxcsr, 0x3F80u);
  cpu.cr4 &= ~cr4::kOsfxsr;
  EXPECT_EQ(run(/* stmxcsr [0x5004] */ {0x0f, 0xae, 0x1c, 0x25, 0x04, 0x50, 0x00, 0x00}), kUd);
}

class CpuXsave : public CpuX87 {
 protected:
  void SetUp() override {
    CpuX87::SetUp();
    cpu.cr4 |= cr4::kOsxsave;
    cpu.xcr0 = 3;
    std::memset(bus.mem.data() + 0x6000, 0xAA, 0x300);
    bus.put_obj<uint64_t>(0x6200, 0);  // XSAVE header: XSTATE_BV, XCOMP_BV, reserved
    bus.put_obj<uint64_t>(0x6208, 0);
    bus.put_obj<uint64_t>(0x6210, 0);
  }
};

TEST_F(CpuXsave, NeedsCr4Osxsave) {
  cpu.cr4 &= ~cr4::kOsxsave;
  EXPECT_EQ(run(/* xsave [0x6000] */ {0x0f, 0xae, 0x24, 0x25, 0x00, 0x60, 0x00, 0x00}), kUd);
  EXPECT_EQ(run(/* xgetbv */ {0x0f, 0x01, 0xd0}), kUd);
  EXPECT_EQ(run(/* xsetbv */ {0x0f, 0x01, 0xd1}), kUd);
}

TEST_F(CpuXsave, XgetbvAndXsetbv) {
  cpu.xcr0 = 1;
  ASSERT_EQ(run(/* xor ecx, ecx; xgetbv; mov ebx, eax; mov eax, 3; xor edx, edx; xsetbv; xgetbv */ {
                0x31, 0xc9, 0x0f, 0x01, 0xd0, 0x89, 0xc3, 0xb8, 0x03, 0x00,
                0x00, 0x00, 0x31, 0xd2, 0x0f, 0x01, 0xd1, 0x0f, 0x01, 0xd0}),
            -1);
  EXPECT_EQ(cpu.gpr[kRbx], 1u);
  EXPECT_EQ(cpu.gpr[kRax], 3u);
  EXPECT_EQ(cpu.xcr0, 3u);
  EXPECT_EQ(run(/* xor ecx, ecx; xor edx, edx; mov eax, 2; xsetbv */ {
                0x31, 0xc9, 0x31, 0xd2, 0xb8, 0x02, 0x00, 0x00, 0x00, 0x0f, 0x01, 0xd1}),
            kGp);  // x87 bit clear
  EXPECT_EQ(run(/* xor ecx, ecx; xor edx, edx; mov eax, 7; xsetbv */ {
                0x31, 0xc9, 0x31, 0xd2, 0xb8, 0x07, 0x00, 0x00, 0x00, 0x0f, 0x01, 0xd1}),
            kGp);  // AVX: unsupported
  EXPECT_EQ(run(/* mov ecx, 1; xgetbv */ {0xb9, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x01, 0xd0}), kGp);
  EXPECT_EQ(cpu.xcr0, 3u);
}

TEST_F(CpuXsave, LayoutAndRequestedFeatureBitmap) {
  cpu.fpu.xmm[0].q[0] = 0x1234;
  ASSERT_EQ(run(/* fninit; fld1; mov eax, -1; mov edx, -1; xsave [0x6000] */ {
                0xdb, 0xe3, 0xd9, 0xe8, 0xb8, 0xff, 0xff, 0xff, 0xff, 0xba, 0xff,
                0xff, 0xff, 0xff, 0x0f, 0xae, 0x24, 0x25, 0x00, 0x60, 0x00, 0x00}),
            -1);
  EXPECT_EQ(bus.get<uint16_t>(0x6000), 0x037F);
  EXPECT_EQ(bus.mem[0x6004], 0x80);
  EXPECT_EQ(bus.get<uint64_t>(0x6020), 0x8000000000000000ull);
  EXPECT_EQ(bus.get<uint32_t>(0x6018), cpu.fpu.mxcsr);
  EXPECT_EQ(bus.get<uint64_t>(0x60A0), 0x1234u);
  EXPECT_EQ(bus.get<uint64_t>(0x6200), 3u);  // XSTATE_BV
  EXPECT_EQ(bus.mem[0x6000 + 464], 0xAA);    // software-available bytes untouched
  EXPECT_EQ(bus.get<uint64_t>(0x6208), 0u);  // the rest of the header untouched
  // Only x87 requested: MXCSR and XMM are not written.
  std::memset(bus.mem.data() + 0x6000, 0xAA, 0x200);
  bus.put_obj<uint64_t>(0x6200, 0);
  ASSERT_EQ(run(/* mov eax, 1; xor edx, edx; xsave [0x6000] */ {0xb8, 0x01, 0x00, 0x00, 0x00, 0x31,
                                                                0xd2, 0x0f, 0xae, 0x24, 0x25, 0x00,
                                                                0x60, 0x00, 0x00}),
            -1);
  EXPECT_EQ(bus.get<uint16_t>(0x6000), 0x037F);
  EXPECT_EQ(bus.get<uint32_t>(0x6018), 0xAAAAAAAAu);
  EXPECT_EQ(bus.get<uint64_t>(0x60A0), 0xAAAAAAAAAAAAAAAAull);
  EXPECT_EQ(bus.get<uint64_t>(0x6200), 1u);
}

TEST_F(CpuXsave, NeedsSixtyFourByteAlignment) {
  EXPECT_EQ(run(/* mov eax, -1; mov edx, -1; xsave [0x6020] */ {
                0xb8, 0xff, 0xff, 0xff, 0xff, 0xba, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xae, 0x24, 0x25,
                0x20, 0x60, 0x00, 0x00}),
            kGp);
  EXPECT_EQ(run(/* mov eax, -1; mov edx, -1; xrstor [0x6010] */ {
                0xb8, 0xff, 0xff, 0xff, 0xff, 0xba, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xae, 0x2c, 0x25,
                0x10, 0x60, 0x00, 0x00}),
            kGp);
}

TEST_F(CpuXsave, XrstorRestoresAndInitialisesClearedComponents) {
  cpu.fpu.xmm[5].q[1] = 0x55;
  ASSERT_EQ(run(/* fninit; fldpi; fld1; mov eax, -1; mov edx, -1; xsave64 [0x6000] */ {
                0xdb, 0xe3, 0xd9, 0xeb, 0xd9, 0xe8, 0xb8, 0xff, 0xff, 0xff, 0xff, 0xba, 0xff,
                0xff, 0xff, 0xff, 0x48, 0x0f, 0xae, 0x24, 0x25, 0x00, 0x60, 0x00, 0x00}),
            -1);
  FpuState saved = cpu.fpu;
  cpu.fpu.xmm[5].q[1] = 0;
  ASSERT_EQ(run(/* fninit; mov eax, -1; mov edx, -1; xrstor64 [0x6000] */ {
                0xdb, 0xe3, 0xb8, 0xff, 0xff, 0xff, 0xff, 0xba, 0xff, 0xff, 0xff,
                0xff, 0x48, 0x0f, 0xae, 0x2c, 0x25, 0x00, 0x60, 0x00, 0x00}),
            -1);
  EXPECT_EQ(cpu.fpu.x87.ftw, saved.x87.ftw);
  EXPECT_EQ(cpu.fpu.x87.fsw, saved.x87.fsw);
  EXPECT_EQ(cpu.fpu.x87.fip, saved.x87.fip);
  EXPECT_EQ(cpu.fpu.xmm[5].q[1], 0x55u);
  // XSTATE_BV = 0: both components take their initial state; MXCSR is still loaded.
  bus.put_obj<uint64_t>(0x6200, 0);
  bus.put_obj<uint32_t>(0x6018, 0x3F80);
  ASSERT_EQ(run(/* mov eax, -1; mov edx, -1; xrstor64 [0x6000] */ {
                0xb8, 0xff, 0xff, 0xff, 0xff, 0xba, 0xff, 0xff, 0xff, 0xff, 0x48, 0x0f, 0xae, 0x2c,
                0x25, 0x00, 0x60, 0x00, 0x00}),
            -1);
  EXPECT_EQ(cpu.fpu.x87.ftw, 0xFFFF);
  EXPECT_EQ(cpu.fpu.x87.fcw, 0x037F);
  EXPECT_EQ(cpu.fpu.xmm[5].q[1], 0u);
  EXPECT_EQ(cpu.fpu.mxcsr, 0x3F80u);
}

TEST_F(CpuXsave, XrstorRejectsBadHeaders) {
  ASSERT_EQ(run(/* mov eax, -1; mov edx, -1; xsave [0x6000] */ {
                0xb8, 0xff, 0xff, 0xff, 0xff, 0xba, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xae, 0x24, 0x25,
                0x00, 0x60, 0x00, 0x00}),
            -1);
  cpu.xcr0 = 1;
  EXPECT_EQ(run(/* mov eax, -1; mov edx, -1; xrstor [0x6000] */ {
                0xb8, 0xff, 0xff, 0xff, 0xff, 0xba, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xae, 0x2c, 0x25,
                0x00, 0x60, 0x00, 0x00}),
            kGp);  // SSE bit not in XCR0
  cpu.xcr0 = 3;
  bus.put_obj<uint64_t>(0x6208, 1ull << 63);  // compacted form
  EXPECT_EQ(run(/* mov eax, -1; mov edx, -1; xrstor [0x6000] */ {
                0xb8, 0xff, 0xff, 0xff, 0xff, 0xba, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xae, 0x2c, 0x25,
                0x00, 0x60, 0x00, 0x00}),
            kGp);
  bus.put_obj<uint64_t>(0x6208, 0);
  bus.put_obj<uint32_t>(0x6018, 0x10000);  // reserved MXCSR bit
  EXPECT_EQ(run(/* mov eax, -1; mov edx, -1; xrstor [0x6000] */ {
                0xb8, 0xff, 0xff, 0xff, 0xff, 0xba, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xae, 0x2c, 0x25,
                0x00, 0x60, 0x00, 0x00}),
            kGp);
  EXPECT_EQ(run(/* mov eax, 1; xor edx, edx; xrstor [0x6000] */ {0xb8, 0x01, 0x00, 0x00, 0x00, 0x31,
                                                                 0xd2, 0x0f, 0xae, 0x2c, 0x25, 0x00,
                                                                 0x60, 0x00, 0x00}),
            -1);  // MXCSR not requested
}

TEST_F(CpuXsave, CpuidDescribesTheArea) {
  CpuidResult d = cpuid(0xD, 0, 0);
  EXPECT_EQ(d.eax, 3u);
  EXPECT_EQ(d.ebx, 576u);
  EXPECT_EQ(d.ecx, 576u);
  EXPECT_EQ(cpuid(0, 0, 0).eax, 0xDu);
  EXPECT_TRUE(cpuid(1, 0, 0).ecx & (1u << 26));
  ASSERT_EQ(run(/* mov eax, 1; cpuid */ {0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0xa2}), -1);
  EXPECT_TRUE(cpu.gpr[kRcx] & (1u << 27));  // OSXSAVE mirrors CR4
  cpu.cr4 &= ~cr4::kOsxsave;
  ASSERT_EQ(run(/* mov eax, 1; cpuid */ {0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0xa2}), -1);
  EXPECT_FALSE(cpu.gpr[kRcx] & (1u << 27));
}

}  // namespace
}  // namespace vessel::cpu

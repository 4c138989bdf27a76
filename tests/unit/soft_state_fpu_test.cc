// The FPU part of the soft accelerator's CpuState conversion: the xsave area
// holds the FXSAVE image (64-bit layout) with XSTATE_BV = x87 | SSE, and
// setting it back restores the register file; also the shared image code.
#include <gtest/gtest.h>

#include <cstring>

#include "accel/soft/soft_state.h"
#include "cpu/exec/cpuid.h"
#include "cpu/fpu_image.h"
#include "cpu_test_util.h"

namespace vessel {
namespace {

using cpu::testing::TestBus;

void fill(cpu::FpuState& f) {
  f.x87.fcw = 0x027F;
  f.x87.fsw = 5u << 11 | 0x20;
  f.x87.regs[6] = {0xC000000000000000ull, 0x4000};  // 3.0
  f.x87.regs[7] = {0, 0};                           // +0
  f.x87.ftw = 0x4FFF;                               // R0-R5 empty, R6 valid, R7 zero
  f.x87.fop = 0x1EB;
  f.x87.fip = 0x123456789ull;
  f.x87.fdp = 0xFEDCBA98ull;
  f.mxcsr = 0x3F80;
  for (unsigned i = 0; i < 16; ++i) {
    f.xmm[i].q[0] = 0x1000 + i;
    f.xmm[i].q[1] = 0x2000 + i;
  }
}

TEST(SoftStateFpu, GetWritesTheFxsaveImageAndHeader) {
  TestBus bus;
  cpu::Cpu c(bus);
  fill(c.fpu);
  CpuState s = soft_get_state(c, false);
  uint16_t fcw;
  uint32_t mxcsr;
  uint64_t fip, bv;
  std::memcpy(&fcw, s.xsave.data(), 2);
  std::memcpy(&fip, s.xsave.data() + 8, 8);
  std::memcpy(&mxcsr, s.xsave.data() + 24, 4);
  std::memcpy(&bv, s.xsave.data() + 512, 8);
  EXPECT_EQ(fcw, 0x027F);
  EXPECT_EQ(s.xsave[4], 0xC0);  // R6, R7 in use
  EXPECT_EQ(fip, 0x123456789ull);
  EXPECT_EQ(mxcsr, 0x3F80u);
  EXPECT_EQ(bv, 3u);
  uint64_t xmm15;
  std::memcpy(&xmm15, s.xsave.data() + 160 + 15 * 16, 8);
  EXPECT_EQ(xmm15, 0x100Fu);
}

TEST(SoftStateFpu, SetRestoresWhatGetSaved) {
  TestBus bus_a, bus_b;
  cpu::Cpu a(bus_a), b(bus_b);
  fill(a.fpu);
  CpuState s = soft_get_state(a, false);
  ASSERT_TRUE(soft_set_state(b, s).ok());
  EXPECT_EQ(b.fpu.x87.fcw, a.fpu.x87.fcw);
  EXPECT_EQ(b.fpu.x87.fsw, a.fpu.x87.fsw);
  EXPECT_EQ(b.fpu.x87.ftw, a.fpu.x87.ftw);
  EXPECT_EQ(b.fpu.x87.regs, a.fpu.x87.regs);
  EXPECT_EQ(b.fpu.x87.fop, a.fpu.x87.fop);
  EXPECT_EQ(b.fpu.x87.fip, a.fpu.x87.fip);
  EXPECT_EQ(b.fpu.x87.fdp, a.fpu.x87.fdp);
  EXPECT_EQ(b.fpu.mxcsr, a.fpu.mxcsr);
  for (unsigned i = 0; i < 16; ++i) {
    EXPECT_EQ(b.fpu.xmm[i].q[0], a.fpu.xmm[i].q[0]);
    EXPECT_EQ(b.fpu.xmm[i].q[1], a.fpu.xmm[i].q[1]);
  }
}

TEST(SoftStateFpu, ClearXstateBitsMeanInitialState) {
  TestBus bus;
  cpu::Cpu c(bus);
  fill(c.fpu);
  CpuState s = soft_get_state(c, false);
  std::memset(s.xsave.data(), 0, 576);  // all zero, XSTATE_BV = 0
  ASSERT_TRUE(soft_set_state(c, s).ok());
  EXPECT_EQ(c.fpu.x87.fcw, 0x037F);
  EXPECT_EQ(c.fpu.x87.ftw, 0xFFFF);
  EXPECT_EQ(c.fpu.mxcsr, 0x1F80u);
  EXPECT_EQ(c.fpu.xmm[3].q[0], 0u);
}

TEST(SoftStateFpu, SetRejectsReservedMxcsrBits) {
  TestBus bus;
  cpu::Cpu c(bus);
  CpuState s = soft_get_state(c, false);
  uint32_t bad = 0x1F80 | (1u << 20);
  std::memcpy(s.xsave.data() + 24, &bad, 4);
  auto st = soft_set_state(c, s);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("MXCSR"), std::string::npos);
}

TEST(FpuImage, TagsAreClassifiedFromTheContents) {
  EXPECT_EQ(cpu::x87_tag_of({0x8000000000000000ull, 0x3FFF}), 0u);  // 1.0
  EXPECT_EQ(cpu::x87_tag_of({0, 0x8000}), 1u);                      // -0
  EXPECT_EQ(cpu::x87_tag_of({1, 0}), 2u);                           // denormal
  EXPECT_EQ(cpu::x87_tag_of({0x8000000000000000ull, 0x7FFF}), 2u);  // infinity
  EXPECT_EQ(cpu::x87_tag_of({0x4000000000000000ull, 0x3FFF}), 2u);  // unnormal
}

TEST(FpuImage, ThirtyTwoBitLayoutCarriesSelectors) {
  cpu::FpuState f;
  f.x87.fip = 0x11223344;
  f.x87.fcs = 0x23;
  f.x87.fdp = 0x55667788;
  f.x87.fds = 0x2B;
  uint8_t image[512];
  cpu::fxsave_image(f, image, false, 8);
  uint16_t fcs, fds;
  uint32_t fip;
  std::memcpy(&fip, image + 8, 4);
  std::memcpy(&fcs, image + 12, 2);
  std::memcpy(&fds, image + 20, 2);
  EXPECT_EQ(fip, 0x11223344u);
  EXPECT_EQ(fcs, 0x23);
  EXPECT_EQ(fds, 0x2B);
  cpu::FpuState g;
  ASSERT_TRUE(cpu::fxrstor_image(g, image, false, 8));
  EXPECT_EQ(g.x87.fcs, 0x23);
  EXPECT_EQ(g.x87.fdp, 0x55667788u);
}

TEST(FpuImage, CpuidAdvertisesFpuAndFxsr) {
  cpu::CpuidResult r = cpu::cpuid(1, 0, 0);
  EXPECT_TRUE(r.edx & 1u);
  EXPECT_TRUE(r.edx & (1u << 24));
}

}  // namespace
}  // namespace vessel

// ALU corner cases the differential tester found against the host CPU.
#include <gtest/gtest.h>

#include "cpu_step_util.h"

namespace vessel::cpu {
namespace {

using testing::StepCpu;

TEST(CpuAluFixes, ShiftByZeroStillZeroExtendsA32BitRegister) {
  StepCpu s;
  s.cpu.gpr[kRax] = 0xFFFFFFFF'12345678;
  s.cpu.gpr[kRcx] = 0x40;  // masked to 0
  s.cpu.set_rflags(rflags::kCf | rflags::kFixed);
  ASSERT_EQ(s.run({0xD3, 0xC0}), -1);  // rol eax, cl
  EXPECT_EQ(s.cpu.gpr[kRax], 0x12345678u);
  EXPECT_TRUE(s.cpu.lflags.cf());  // flags unchanged
  s.cpu.gpr[kRax] = 0xFFFFFFFF'00000001;
  ASSERT_EQ(s.run({0xC1, 0xE0, 0x20}), -1);  // shl eax, 32 (masked to 0)
  EXPECT_EQ(s.cpu.gpr[kRax], 1u);
  s.cpu.gpr[kRax] = 0xFFFFFFFF'00000001;
  ASSERT_EQ(s.run({0x0F, 0xA4, 0xC8, 0x40}), -1);  // shld eax, ecx, 64 (masked to 0)
  EXPECT_EQ(s.cpu.gpr[kRax], 1u);
  s.cpu.gpr[kRax] = 0xFFFFFFFF'00000001;
  ASSERT_EQ(s.run({0x48, 0xC1, 0xE0, 0x40}), -1);  // shl rax, 64: 64-bit, unchanged
  EXPECT_EQ(s.cpu.gpr[kRax], 0xFFFFFFFF'00000001u);
}

TEST(CpuAluFixes, ShldToMemoryShiftsInTheRegisterNotCl) {
  StepCpu s;
  s.bus.put_obj<uint16_t>(StepCpu::kData, 0x8001);
  s.cpu.gpr[kRbx] = StepCpu::kData;
  s.cpu.gpr[kRax] = 0xC000;  // bits shifted in: 11
  s.cpu.gpr[kRcx] = 2;
  ASSERT_EQ(s.run({0x66, 0x0F, 0xA5, 0x03}), -1);  // shld [rbx], ax, cl
  EXPECT_EQ(s.bus.get<uint16_t>(StepCpu::kData), 0x0007);
  EXPECT_FALSE(s.cpu.lflags.cf());  // bit 14 of 0x8001
  s.bus.put_obj<uint32_t>(StepCpu::kData, 0x80000001);
  s.cpu.gpr[kRax] = 0x3;
  ASSERT_EQ(s.run({0x0F, 0xAD, 0x03}), -1);  // shrd [rbx], eax, cl
  EXPECT_EQ(s.bus.get<uint32_t>(StepCpu::kData), 0xE0000000u);
  EXPECT_FALSE(s.cpu.lflags.cf());  // bit 1 of 0x80000001
}

TEST(CpuAluFixes, XaddWithOneRegisterKeepsTheSum) {
  StepCpu s;
  s.cpu.gpr[kRax] = 5;
  ASSERT_EQ(s.run({0x48, 0x0F, 0xC1, 0xC0}), -1);  // xadd rax, rax
  EXPECT_EQ(s.cpu.gpr[kRax], 10u);
  s.cpu.gpr[kRax] = 5;
  s.cpu.gpr[kRcx] = 7;
  ASSERT_EQ(s.run({0x48, 0x0F, 0xC1, 0xC8}), -1);  // xadd rax, rcx
  EXPECT_EQ(s.cpu.gpr[kRax], 12u);
  EXPECT_EQ(s.cpu.gpr[kRcx], 5u);
}

}  // namespace
}  // namespace vessel::cpu

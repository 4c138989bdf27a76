// System instructions: LAR, LSL, VERR, VERW (SDM Vol. 2: results through
// ZF, never a fault for a bad selector) and machine MSRs. GDT of
// cpu_test_util.h: 0x08 code32, 0x10 data (DPL 0),
// 0x18 code64, 0x20 code16, 0x28 code (DPL 3), 0x30 data (DPL 3); limit 0x37.
#include <gtest/gtest.h>

#include "cpu_step_util.h"

namespace vessel::cpu::testing {
namespace {

bool zf(const Cpu& c) {
  return c.get_rflags() & rflags::kZf;
}

// mov eax, sel ; then the instruction.
int run_with(StepCpu& s, uint16_t sel, std::initializer_list<uint8_t> insn) {
  s.cpu.gpr[kRax] = sel;
  return s.run(insn);
}

TEST(CpuSegCheck, VerrVerwReportAccessThroughZf) {
  StepCpu s;
  const std::initializer_list<uint8_t> verr = {0x0F, 0x00, 0xE0};  // verr ax
  const std::initializer_list<uint8_t> verw = {0x0F, 0x00, 0xE8};  // verw ax
  EXPECT_EQ(run_with(s, 0x10, verw), -1);
  EXPECT_TRUE(zf(s.cpu)) << "writable data";
  EXPECT_EQ(run_with(s, 0x08, verw), -1);
  EXPECT_FALSE(zf(s.cpu)) << "code is never writable";
  EXPECT_EQ(run_with(s, 0x08, verr), -1);
  EXPECT_TRUE(zf(s.cpu)) << "readable code";
  EXPECT_EQ(run_with(s, 0x38, verw), -1);
  EXPECT_FALSE(zf(s.cpu)) << "past the GDT limit: ZF = 0, no fault";
  EXPECT_EQ(run_with(s, 0x00, verr), -1);
  EXPECT_FALSE(zf(s.cpu)) << "null selector";
  EXPECT_EQ(run_with(s, 0x33, verw), -1);
  EXPECT_TRUE(zf(s.cpu)) << "DPL 3 data with RPL 3 at CPL 0";
  EXPECT_EQ(run_with(s, 0x13, verw), -1);
  EXPECT_FALSE(zf(s.cpu)) << "RPL 3 above DPL 0";
}

TEST(CpuSegCheck, VerwReadsItsSelectorFromMemory) {
  StepCpu s;
  s.bus.put_obj<uint16_t>(StepCpu::kData, 0x10);
  // verw word ptr [kData] (absolute disp32 through a SIB byte)
  EXPECT_EQ(s.run({0x0F, 0x00, 0x2C, 0x25, 0x00, 0x50, 0x00, 0x00}), -1);
  EXPECT_TRUE(zf(s.cpu));
}

TEST(CpuSegCheck, LarAndLslLoadRightsAndLimit) {
  StepCpu s;
  s.cpu.gpr[kRcx] = 0x10;
  EXPECT_EQ(s.run({0x0F, 0x02, 0xC1}), -1);  // lar eax, ecx
  EXPECT_TRUE(zf(s.cpu));
  EXPECT_EQ(s.cpu.gpr[kRax], 0x00C09200u);
  EXPECT_EQ(s.run({0x0F, 0x03, 0xC1}), -1);  // lsl eax, ecx
  EXPECT_TRUE(zf(s.cpu));
  EXPECT_EQ(s.cpu.gpr[kRax], 0xFFFFFFFFu);
  s.cpu.gpr[kRax] = 0x1234;
  s.cpu.gpr[kRcx] = 0x40;  // past the limit
  EXPECT_EQ(s.run({0x0F, 0x02, 0xC1}), -1);
  EXPECT_FALSE(zf(s.cpu));
  EXPECT_EQ(s.cpu.gpr[kRax], 0x1234u) << "destination unchanged when ZF = 0";
}

TEST(CpuSegCheck, RealModeIsUd) {
  StepCpu s;
  s.cpu.cr0 &= ~cr0::kPe;
  s.cpu.efer = 0;
  s.cpu.update_mode();
  EXPECT_EQ(run_with(s, 0x10, {0x0F, 0x00, 0xE8}), kUd);
}

}  // namespace
}  // namespace vessel::cpu::testing

namespace vessel::cpu::testing {
namespace {

// IA32_BIOS_SIGN_ID (0x8B) reads 0 and ignores writes, as Linux's
// early_init_intel expects; an MSR nobody implements is #GP(0).
TEST(CpuMsr, BiosSignIdReadsZeroAndUnknownMsrIsGp) {
  StepCpu s;
  s.cpu.gpr[kRcx] = 0x8B;
  s.cpu.gpr[kRax] = 0x1234;
  s.cpu.gpr[kRdx] = 0x5678;
  EXPECT_EQ(s.run({0x0F, 0x30}), -1);  // wrmsr
  EXPECT_EQ(s.run({0x0F, 0x32}), -1);  // rdmsr
  EXPECT_EQ(s.cpu.gpr[kRax], 0u);
  EXPECT_EQ(s.cpu.gpr[kRdx], 0u);
  s.cpu.gpr[kRcx] = 0x12345;
  EXPECT_EQ(s.run({0x0F, 0x32}), kGp);
}

// WRMSR IA32_TSC reads the host clock once and hands the bus the very offset
// the CPU keeps: the bus's TSC deadline and kvmclock then never run ahead of
// the TSC the guest reads (they once took a clock reading of their own, a
// little later, and a guest reading kvmclock right after saw time jump by 2^63 ns).
TEST(CpuMsr, TscWriteGivesTheBusTheCpusOwnOffset) {
  StepCpu s;
  const uint64_t value = 5'000'000'000'000ull;
  s.cpu.gpr[kRcx] = 0x10;
  s.cpu.gpr[kRax] = value & 0xFFFFFFFF;
  s.cpu.gpr[kRdx] = value >> 32;
  uint64_t before = Cpu::host_now_ns();
  EXPECT_EQ(s.run({0x0F, 0x30}), -1);  // wrmsr
  uint64_t after = Cpu::host_now_ns();
  ASSERT_EQ(s.bus.tsc_changes.size(), 1u);
  EXPECT_EQ(s.bus.tsc_changes[0].offset, s.cpu.tsc_offset);
  EXPECT_EQ(s.bus.tsc_changes[0].now_ns + s.bus.tsc_changes[0].offset, value);
  EXPECT_GE(s.bus.tsc_changes[0].now_ns, before);
  EXPECT_LE(s.bus.tsc_changes[0].now_ns, after);
  EXPECT_EQ(s.run({0x0F, 0x31}), -1);  // rdtsc: from the written value on
  uint64_t tsc = (s.cpu.gpr[kRdx] << 32) | (s.cpu.gpr[kRax] & 0xFFFFFFFF);
  EXPECT_GE(tsc, value);
  EXPECT_LT(tsc, value + 5'000'000'000ull);
}

// A CPU without speculation is immune to what IA32_ARCH_CAPABILITIES can
// report: leaf 7 enumerates it and SPEC_CTRL/PRED_CMD; it reads the "not
// affected" bits (RDCL_NO, IBRS_ALL, MDS_NO, ITS_NO, ...) and is read-only.
TEST(CpuMsr, SpeculationControlsAndArchCapabilities) {
  StepCpu s;
  CpuidResult leaf7 = s.cpu.cpuid(7, 0);
  EXPECT_TRUE(leaf7.edx & (1u << 26));        // IBRS/IBPB
  EXPECT_TRUE(leaf7.edx & (1u << 29));        // ARCH_CAPABILITIES
  EXPECT_FALSE(leaf7.edx & (1u << 27));       // no STIBP
  EXPECT_GE(leaf7.eax, 2u);                   // subleaf 2 exists
  EXPECT_EQ(s.cpu.cpuid(7, 2).edx, 1u << 4);  // BHI_CTRL only
  s.cpu.gpr[kRcx] = 0x10A;
  EXPECT_EQ(s.run({0x0F, 0x32}), -1);  // rdmsr
  uint64_t caps = (s.cpu.gpr[kRdx] << 32) | (s.cpu.gpr[kRax] & 0xFFFFFFFF);
  EXPECT_EQ(caps & 0x3, 0x3u);          // RDCL_NO, IBRS_ALL
  EXPECT_TRUE(caps & (1ull << 5));      // MDS_NO
  EXPECT_TRUE(caps & (1ull << 62));     // ITS_NO
  EXPECT_FALSE(caps & (1ull << 2));     // not RSBA
  EXPECT_EQ(s.run({0x0F, 0x30}), kGp);  // read-only
  s.cpu.gpr[kRcx] = 0x48;               // SPEC_CTRL
  s.cpu.gpr[kRax] = 1;                  // IBRS
  s.cpu.gpr[kRdx] = 0;
  EXPECT_EQ(s.run({0x0F, 0x30}), -1);
  s.cpu.gpr[kRax] = 0;
  EXPECT_EQ(s.run({0x0F, 0x32}), -1);
  EXPECT_EQ(s.cpu.gpr[kRax], 1u);
  s.cpu.gpr[kRax] = 1 | (1u << 10);  // IBRS | BHI_DIS_S
  EXPECT_EQ(s.run({0x0F, 0x30}), -1);
  s.cpu.gpr[kRax] = 0;
  EXPECT_EQ(s.run({0x0F, 0x32}), -1);
  EXPECT_EQ(s.cpu.gpr[kRax], 1u | (1u << 10));
  s.cpu.gpr[kRax] = 2;  // STIBP is not enumerated
  EXPECT_EQ(s.run({0x0F, 0x30}), kGp);
  s.cpu.gpr[kRcx] = 0x49;  // PRED_CMD: IBPB accepted, write-only
  s.cpu.gpr[kRax] = 1;
  EXPECT_EQ(s.run({0x0F, 0x30}), -1);
  EXPECT_EQ(s.run({0x0F, 0x32}), kGp);
}

}  // namespace
}  // namespace vessel::cpu::testing

// Debug registers on the software CPU: instruction breakpoints (fault before
// the instruction, RF to resume and cleared after one instruction), data
// write and read/write breakpoints (trap after the access, DR6 B0-B3, every
// access to the page seen despite the TLB), I/O breakpoints with CR4.DE,
// DR7.GD general detect, RF in the frame of fault-class exceptions, and the
// MOV DR checks.
#include <gtest/gtest.h>

#include "cpu_step_util.h"
#include "cpu_test_util.h"

namespace vessel::cpu {
namespace {

using testing::TestBus;

constexpr uint64_t kDr6Fixed = 0xFFFF0FF0;

void set_gate32(TestBus& bus, unsigned vector, uint32_t handler) {
  uint64_t gate = (handler & 0xFFFF) | (uint64_t{0x08} << 16) | (uint64_t{0x8E} << 40) |
                  (uint64_t{handler >> 16} << 48);
  bus.put_obj(testing::kIdt + vector * 8, gate);
}

class CpuDebug : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::enter_protected32(cpu, bus);
    cpu.idtr = {testing::kIdt, 256 * 8 - 1};
    cpu.gpr[kRsp] = 0x9000;
    cpu.rip = 0x2000;
  }
  void set_breakpoint(unsigned n, uint64_t addr, uint64_t dr7) {
    testing::set_breakpoint(cpu, n, addr, dr7);
  }
  TestBus bus;
  Cpu cpu{bus};
};

TEST_F(CpuDebug, InstructionBreakpointFaultsAndRfResumesOnce) {
  // 0x2000: inc eax; 0x2001: inc eax (breakpoint); cmp eax, 4; jb 0x2000; hlt
  bus.put(0x2000, {0x40, 0x40, 0x83, 0xF8, 0x04, 0x72, 0xF9, 0xF4});
  // #DB: mov ecx, dr6; mov edx, [esp]; mov esi, [esp+8]; or dword [esp+8], RF; inc ebx; iret
  set_gate32(bus, kDb, 0x3000);
  bus.put(0x3000, {0x0F, 0x21, 0xF1, 0x8B, 0x14, 0x24, 0x8B, 0x74, 0x24, 0x08,
                   0x81, 0x4C, 0x24, 0x08, 0x00, 0x00, 0x01, 0x00, 0x43, 0xCF});
  set_breakpoint(0, 0x2001, testing::dr7_arm(0, 0, 0));
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRax], 4u);
  // Hit on both passes: RF skipped the breakpoint once, then was cleared.
  EXPECT_EQ(cpu.gpr[kRbx], 2u);
  EXPECT_EQ(cpu.gpr[kRdx], 0x2001u);  // fault: saved EIP is the breakpoint
  EXPECT_EQ(cpu.gpr[kRcx], kDr6Fixed | 1);
  // The #DB for an instruction breakpoint pushes RF as it was (0).
  EXPECT_EQ(cpu.gpr[kRsi] & rflags::kRf, 0u);
  EXPECT_EQ(cpu.get_rflags() & rflags::kRf, 0u);
}

TEST_F(CpuDebug, DisabledBreakpointDoesNotTrigger) {
  bus.put(0x2000, {0x40, 0x40, 0xF4});
  set_gate32(bus, kDb, 0x3000);
  bus.put(0x3000, {0x43, 0xF4});
  // DR0 holds the address, but only the R/W field is set: not enabled.
  set_breakpoint(0, 0x2001, testing::dr7_arm(0, 0, 0) & ~3ull);
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRax], 2u);
  EXPECT_EQ(cpu.gpr[kRbx], 0u);
}

TEST_F(CpuDebug, DataWriteBreakpointTrapsAfterTheStore) {
  // mov dword [0x6000], 1     (same page, outside the breakpoint: no hit)
  // mov eax, [0x6004]         (read: a write breakpoint ignores it)
  // mov byte [0x6006], 2      (inside DR1's 4 bytes: trap)
  // hlt
  bus.put(0x2000, {0xC7, 0x05, 0x00, 0x60, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,  //
                   0xA1, 0x04, 0x60, 0x00, 0x00,                                //
                   0xC6, 0x05, 0x06, 0x60, 0x00, 0x00, 0x02,                    //
                   0xF4});
  // #DB: mov ecx, dr6; mov edx, [esp]; inc ebx; iret
  set_gate32(bus, kDb, 0x3000);
  bus.put(0x3000, {0x0F, 0x21, 0xF1, 0x8B, 0x14, 0x24, 0x43, 0xCF});
  set_breakpoint(1, 0x6004, testing::dr7_arm(1, 1, 3));
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRbx], 1u);
  EXPECT_EQ(cpu.gpr[kRdx], 0x2016u);  // trap: saved EIP is after the store
  EXPECT_EQ(cpu.gpr[kRcx], kDr6Fixed | 2);
  EXPECT_EQ(bus.get<uint8_t>(0x6006), 2u);  // the store happened
  EXPECT_EQ(cpu.rip, 0x2017u);
}

TEST_F(CpuDebug, LockedWritesHitDataBreakpoints) {
  // lock add dword [0x6004], 1   (aligned: the host-atomic path)
  // lock inc dword [0x6007]      (misaligned: the slow path)
  // hlt
  bus.put(0x2000, {0xF0, 0x83, 0x05, 0x04, 0x60, 0x00, 0x00, 0x01,  //
                   0xF0, 0xFF, 0x05, 0x07, 0x60, 0x00, 0x00,        //
                   0xF4});
  // #DB: mov ecx, dr6; mov edx, [esp]; inc ebx; iret
  set_gate32(bus, kDb, 0x3000);
  bus.put(0x3000, {0x0F, 0x21, 0xF1, 0x8B, 0x14, 0x24, 0x43, 0xCF});
  set_breakpoint(1, 0x6004, testing::dr7_arm(1, 1, 3));
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRbx], 2u);
  EXPECT_EQ(cpu.gpr[kRdx], 0x200Fu);  // the second trap: after the LOCK INC
  EXPECT_EQ(cpu.gpr[kRcx], kDr6Fixed | 2);
  EXPECT_EQ(bus.get<uint32_t>(0x6004), 0x01000001u);
}

TEST_F(CpuDebug, ReadWriteBreakpointOfEightBytesSeesReads) {
  // mov eax, [0x6000]; mov al, [0x600F]; mov eax, [0x6010]; hlt
  bus.put(0x2000, {0xA1, 0x00, 0x60, 0x00, 0x00, 0xA0, 0x0F, 0x60, 0x00, 0x00, 0xA1, 0x10, 0x60,
                   0x00, 0x00, 0xF4});
  // #DB: mov ecx, dr6; mov edx, [esp]; inc ebx; iret
  set_gate32(bus, kDb, 0x3000);
  bus.put(0x3000, {0x0F, 0x21, 0xF1, 0x8B, 0x14, 0x24, 0x43, 0xCF});
  // DR3 = 0x600C, LEN 8 (10b): the range is the aligned 0x6008-0x600F.
  set_breakpoint(3, 0x600C, testing::dr7_arm(3, 3, 2));
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRbx], 1u);
  EXPECT_EQ(cpu.gpr[kRdx], 0x200Au);
  EXPECT_EQ(cpu.gpr[kRcx], kDr6Fixed | 8);
}

TEST_F(CpuDebug, BreakpointArmedByMovDrInTheGuest) {
  // mov eax, 0x6000; mov dr0, eax; mov eax, 0x000D0001 (L0, R/W 01, LEN 11);
  // mov dr7, eax; mov [0x6000], eax; hlt
  bus.put(0x2000, {0xB8, 0x00, 0x60, 0x00, 0x00, 0x0F, 0x23, 0xC0, 0xB8, 0x01, 0x00,
                   0x0D, 0x00, 0x0F, 0x23, 0xF8, 0xA3, 0x00, 0x60, 0x00, 0x00, 0xF4});
  set_gate32(bus, kDb, 0x3000);
  bus.put(0x3000, {0x0F, 0x21, 0xF1, 0xF4});  // mov ecx, dr6; hlt
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.rip, 0x3004u);
  EXPECT_EQ(cpu.gpr[kRcx], kDr6Fixed | 1);
  EXPECT_EQ(bus.get<uint32_t>(0x9000 - 12), 0x2015u);
}

TEST_F(CpuDebug, GeneralDetectFaultsOnMovDr) {
  // mov eax, dr0 (with GD set); hlt
  bus.put(0x2000, {0x0F, 0x21, 0xC0, 0xF4});
  // #DB: mov ecx, dr7; mov edx, dr6; mov esi, [esp]; mov edi, [esp+8];
  //      add dword [esp], 3; iret
  set_gate32(bus, kDb, 0x3000);
  bus.put(0x3000, {0x0F, 0x21, 0xF9, 0x0F, 0x21, 0xF2, 0x8B, 0x34, 0x24, 0x8B, 0x7C, 0x24, 0x08,
                   0x83, 0x04, 0x24, 0x03, 0xCF});
  cpu.dr[0] = 0x1234;
  cpu.gpr[kRax] = 0x5555;
  cpu.dr7 = 0x400 | (1u << 13);
  cpu.update_debug();
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRcx], 0x400u);                  // GD cleared on entry to the handler
  EXPECT_EQ(cpu.gpr[kRdx], kDr6Fixed | (1u << 13));  // BD
  EXPECT_EQ(cpu.gpr[kRsi], 0x2000u);                 // fault: the MOV itself
  EXPECT_NE(cpu.gpr[kRdi] & rflags::kRf, 0u);        // fault class: RF = 1 pushed
  EXPECT_EQ(cpu.gpr[kRax], 0x5555u);                 // the MOV did not run
  EXPECT_EQ(cpu.rip, 0x2004u);
}

TEST_F(CpuDebug, FaultClassExceptionsPushRf) {
  bus.put(0x2000, {0x0F, 0x0B});  // ud2
  set_gate32(bus, kUd, 0x3000);
  bus.put(0x3000, {0xF4});
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_NE(bus.get<uint32_t>(0x9000 - 4) & rflags::kRf, 0u);
  EXPECT_EQ(cpu.get_rflags() & rflags::kRf, 0u);  // cleared on delivery
}

TEST_F(CpuDebug, SingleStepAndDataBreakpointTogether) {
  // mov [0x6000], eax with TF set: one #DB, DR6 = BS | B2.
  bus.put(0x2000, {0xA3, 0x00, 0x60, 0x00, 0x00, 0xF4});
  set_gate32(bus, kDb, 0x3000);
  bus.put(0x3000, {0x0F, 0x21, 0xF1, 0xF4});  // mov ecx, dr6; hlt
  set_breakpoint(2, 0x6000, testing::dr7_arm(2, 1, 0));
  cpu.set_rflags(cpu.get_rflags() | rflags::kTf);
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRcx], kDr6Fixed | (1u << 14) | 4);
  EXPECT_EQ(bus.get<uint32_t>(0x9000 - 12), 0x2005u);
}

TEST_F(CpuDebug, IoBreakpointNeedsCr4De) {
  // in al, 0x71 (outside); out 0x72, al (inside DR0's two ports); hlt
  bus.put(0x2000, {0xE4, 0x71, 0xE6, 0x72, 0xF4});
  // #DB: mov ecx, dr6; mov edx, [esp]; inc ebx; iret
  set_gate32(bus, kDb, 0x3000);
  bus.put(0x3000, {0x0F, 0x21, 0xF1, 0x8B, 0x14, 0x24, 0x43, 0xCF});
  // DR0 = port 0x72, R/W 10 (I/O), LEN 01 (2 ports: 0x72-0x73). Without CR4.DE: nothing.
  set_breakpoint(0, 0x72, testing::dr7_arm(0, 2, 1));
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRbx], 0u);
  // With CR4.DE: a trap after the OUT.
  cpu.cr4 |= cr4::kDe;
  cpu.update_debug();
  cpu.rip = 0x2000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRbx], 1u);
  EXPECT_EQ(cpu.gpr[kRdx], 0x2004u);
  EXPECT_EQ(cpu.gpr[kRcx], kDr6Fixed | 1);
}

TEST(CpuDebugRegs, MovDrChecksAndFixedBits) {
  testing::StepCpu s;
  // mov dr6, rax; mov rbx, dr6 (0F 23 F0; 0F 21 F3)
  s.cpu.gpr[kRax] = 0;
  ASSERT_EQ(s.run({0x0F, 0x23, 0xF0, 0x0F, 0x21, 0xF3}), -1);
  EXPECT_EQ(s.cpu.gpr[kRbx], kDr6Fixed);
  // mov dr7, rax with every bit set but the upper half: reserved bits stay 0, bit 10 stays 1.
  s.cpu.gpr[kRax] = 0xFFFFFFFF & ~(1u << 13);
  ASSERT_EQ(s.run({0x0F, 0x23, 0xF8, 0x0F, 0x21, 0xFB}), -1);
  EXPECT_EQ(s.cpu.gpr[kRbx], 0xFFFF07FFu);
  // Upper 32 bits of DR7 set: #GP.
  s.cpu.gpr[kRax] = 1ull << 32;
  EXPECT_EQ(s.run({0x0F, 0x23, 0xF8}), kGp);
  // DR4 aliases DR6 without CR4.DE, #UD with it.
  ASSERT_EQ(s.run({0x0F, 0x21, 0xE3}), -1);  // mov rbx, dr4
  EXPECT_EQ(s.cpu.gpr[kRbx], kDr6Fixed);
  s.cpu.cr4 |= cr4::kDe;
  EXPECT_EQ(s.run({0x0F, 0x21, 0xE3}), kUd);
  // CPL 3: #GP.
  s.cpu.seg[kCs].selector |= 3;
  s.cpu.update_mode();
  EXPECT_EQ(s.run({0x0F, 0x21, 0xC3}), kGp);
}

}  // namespace
}  // namespace vessel::cpu

// Data breakpoints in repeated string instructions (SDM Vol. 3 18.3.1.2):
// an iteration that hits a data breakpoint is reported by a #DB trap right
// after it, with ECX/ESI/EDI as they are after that iteration and the saved
// EIP still on the string instruction (after it when that was the last
// iteration); returning from the handler finishes the rest.
#include <gtest/gtest.h>

#include "cpu_test_util.h"

namespace vessel::cpu {
namespace {

using testing::TestBus;

constexpr uint64_t kDr6Fixed = 0xFFFF0FF0;
constexpr uint64_t kLog = 0x7F00;  // the #DB handler's record, per trap 0x20 bytes

class CpuDebugRep : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::enter_protected32(cpu, bus);
    cpu.idtr = {testing::kIdt, 256 * 8 - 1};
    uint64_t gate = 0x3000 | (uint64_t{0x08} << 16) | (uint64_t{0x8E} << 40);
    bus.put_obj(testing::kIdt + kDb * 8, gate);
    // #DB handler (EBX counts the traps; EBP points at this trap's record):
    //   mov [ebp], ecx; mov [ebp+4], esi; mov [ebp+8], edi
    //   push eax; mov eax, dr6; mov [ebp+12], eax; mov eax, [esp+4]; mov [ebp+16], eax
    //   pop eax; add ebp, 0x20; inc ebx; iret
    bus.put(0x3000,
            {0x89, 0x4D, 0x00, 0x89, 0x75, 0x04, 0x89, 0x7D, 0x08,                                //
             0x50, 0x0F, 0x21, 0xF0, 0x89, 0x45, 0x0C, 0x8B, 0x44, 0x24, 0x04, 0x89, 0x45, 0x10,  //
             0x58, 0x83, 0xC5, 0x20, 0x43, 0xCF});
    cpu.gpr[kRbp] = kLog;
    cpu.gpr[kRsp] = 0x9000;
    cpu.rip = 0x2000;
  }
  void set_breakpoint(unsigned n, uint64_t addr, uint64_t dr7) {
    testing::set_breakpoint(cpu, n, addr, dr7);
  }
  uint32_t logged(unsigned trap, unsigned field) {
    return bus.get<uint32_t>(kLog + trap * 0x20 + field * 4);
  }
  enum { kEcx, kEsi, kEdi, kDr6, kEip };
  TestBus bus;
  Cpu cpu{bus};
};

TEST_F(CpuDebugRep, RepMovsbTrapsAfterTheIterationThatWroteTheWatchedByte) {
  for (unsigned k = 0; k < 16; ++k) bus.put_obj<uint8_t>(0x5000 + k, static_cast<uint8_t>(k + 1));
  bus.put(0x2000, {0xF3, 0xA4, 0xF4});  // rep movsb; hlt
  cpu.gpr[kRcx] = 16;
  cpu.gpr[kRsi] = 0x5000;
  cpu.gpr[kRdi] = 0x6000;
  set_breakpoint(0, 0x6005, testing::dr7_arm(0, 1, 0));  // write, 1 byte
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRbx], 1u);     // exactly one trap
  EXPECT_EQ(logged(0, kEcx), 10u);  // six iterations done (0..5)
  EXPECT_EQ(logged(0, kEsi), 0x5006u);
  EXPECT_EQ(logged(0, kEdi), 0x6006u);
  EXPECT_EQ(logged(0, kDr6), kDr6Fixed | 1);
  EXPECT_EQ(logged(0, kEip), 0x2000u);  // still on the REP MOVSB
  // The handler's IRET resumed the copy, which finished.
  EXPECT_EQ(cpu.rip, 0x2003u);
  EXPECT_EQ(cpu.gpr[kRcx], 0u);
  EXPECT_EQ(cpu.gpr[kRdi], 0x6010u);
  for (unsigned k = 0; k < 16; ++k) EXPECT_EQ(bus.get<uint8_t>(0x6000 + k), k + 1) << k;
  EXPECT_EQ(bus.get<uint8_t>(0x6010), 0u);
}

TEST_F(CpuDebugRep, RepStosdTrapsOncePerHitAndFinishes) {
  bus.put(0x2000, {0xF3, 0xAB, 0xF4});  // rep stosd; hlt
  cpu.gpr[kRax] = 0xA5A5A5A5;
  cpu.gpr[kRcx] = 8;
  cpu.gpr[kRdi] = 0x6000;
  // DR1: 4-byte write breakpoint on the fifth dword; DR2: read/write on byte
  // 0x601E (inside the eighth dword, the last iteration).
  set_breakpoint(1, 0x6010, testing::dr7_arm(1, 1, 3) | testing::dr7_arm(2, 3, 0));
  cpu.dr[2] = 0x601E;
  cpu.update_debug();
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRbx], 2u);
  EXPECT_EQ(logged(0, kEcx), 3u);
  EXPECT_EQ(logged(0, kEdi), 0x6014u);
  EXPECT_EQ(logged(0, kDr6) & 0xF, 2u);
  EXPECT_EQ(logged(0, kEip), 0x2000u);
  // The last iteration's hit: the instruction is complete, EIP after it.
  EXPECT_EQ(logged(1, kEcx), 0u);
  EXPECT_EQ(logged(1, kEdi), 0x6020u);
  EXPECT_EQ(logged(1, kDr6) & 0xF, 4u);
  EXPECT_EQ(logged(1, kEip), 0x2002u);
  EXPECT_EQ(cpu.rip, 0x2003u);
  for (unsigned k = 0; k < 8; ++k) EXPECT_EQ(bus.get<uint32_t>(0x6000 + k * 4), 0xA5A5A5A5u);
  EXPECT_EQ(bus.get<uint32_t>(0x6020), 0u);
}

TEST_F(CpuDebugRep, ReadBreakpointOnTheSourceWithDirectionDown) {
  bus.put(0x2000, {0xFD, 0xF3, 0xA4, 0xF4});  // std; rep movsb; hlt
  for (unsigned k = 0; k < 8; ++k) bus.put_obj<uint8_t>(0x5000 + k, static_cast<uint8_t>(0x40 + k));
  cpu.gpr[kRcx] = 8;
  cpu.gpr[kRsi] = 0x5007;
  cpu.gpr[kRdi] = 0x6007;
  set_breakpoint(3, 0x5002,
                 testing::dr7_arm(3, 3, 0));  // read/write, 1 byte: the sixth source byte
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRbx], 1u);
  EXPECT_EQ(logged(0, kEcx), 2u);
  EXPECT_EQ(logged(0, kEsi), 0x5001u);
  EXPECT_EQ(logged(0, kEdi), 0x6001u);
  EXPECT_EQ(logged(0, kDr6) & 0xF, 8u);
  EXPECT_EQ(logged(0, kEip), 0x2001u);
  for (unsigned k = 0; k < 8; ++k) EXPECT_EQ(bus.get<uint8_t>(0x6000 + k), 0x40 + k) << k;
}

TEST_F(CpuDebugRep, NoBreakpointHitRunsToTheEnd) {
  bus.put(0x2000, {0xF3, 0xA4, 0xF4});  // rep movsb; hlt
  cpu.gpr[kRcx] = 64;
  cpu.gpr[kRsi] = 0x5000;
  cpu.gpr[kRdi] = 0x6000;
  set_breakpoint(0, 0x6100, testing::dr7_arm(0, 1, 0));  // same page, never written
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRbx], 0u);
  EXPECT_EQ(cpu.gpr[kRcx], 0u);
  EXPECT_EQ(cpu.gpr[kRdi], 0x6040u);
}

TEST_F(CpuDebugRep, SingleStepTrapsAfterEachIteration) {
  // rep stosb; pushfd; and dword [esp], ~TF; popfd; hlt
  bus.put(0x2000, {0xF3, 0xAA, 0x9C, 0x81, 0x24, 0x24, 0xFF, 0xFE, 0xFF, 0xFF, 0x9D, 0xF4});
  cpu.gpr[kRax] = 0x5A;
  cpu.gpr[kRcx] = 3;
  cpu.gpr[kRdi] = 0x6000;
  cpu.set_rflags(rflags::kFixed | rflags::kTf);
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.rip, 0x200Cu);
  // One trap per iteration, then one after each of PUSHFD, AND and POPFD.
  EXPECT_EQ(cpu.gpr[kRbx], 6u);
  for (unsigned t = 0; t < 3; ++t) {
    EXPECT_EQ(logged(t, kEcx), 2u - t) << t;
    EXPECT_EQ(logged(t, kEdi), 0x6001u + t) << t;
    EXPECT_TRUE(logged(t, kDr6) & (1u << 14)) << t;  // BS
    EXPECT_EQ(logged(t, kEip), t < 2 ? 0x2000u : 0x2002u) << t;
  }
  EXPECT_EQ(bus.get<uint32_t>(0x6000), 0x005A5A5Au);
}

}  // namespace
}  // namespace vessel::cpu

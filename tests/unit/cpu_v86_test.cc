// Virtual-8086 mode on the software CPU (no VME): IRET from ring 0 with
// VM = 1 (segments real-mode style, CPL 3), an IOPL-sensitive instruction
// with IOPL 0 (#GP to the ring-0 monitor with the V86 frame: GS, FS, DS,
// ES, SS, ESP, EFLAGS, CS, EIP, error code; data segments nulled), and with
// IOPL 3 INT n through a DPL 3 gate, whose handler IRETs back into V86 mode.
#include <gtest/gtest.h>

#include "cpu_test_util.h"

namespace vessel::cpu {
namespace {

using testing::TestBus;

void set_gate32(TestBus& bus, unsigned vector, uint32_t handler, uint8_t attr = 0x8E) {
  uint64_t gate = (handler & 0xFFFF) | (uint64_t{0x08} << 16) | (uint64_t{attr} << 40) |
                  (uint64_t{handler >> 16} << 48);
  bus.put_obj(testing::kIdt + vector * 8, gate);
}

class CpuV86 : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::enter_protected32(cpu, bus);
    cpu.idtr = {testing::kIdt, 256 * 8 - 1};
    bus.put_obj<uint32_t>(0x4004, 0xA000);  // TSS: ESP0, SS0
    bus.put_obj<uint32_t>(0x4008, 0x10);
    cpu.tr = Cpu::unpack_descriptor(0x38, 0x0000890040000067ull);
    cpu.tr.type = 0xB;
    set_gate32(bus, kGp, 0x3F00);
    bus.put(0x3F00, {0xF4});  // hlt
    // Ring 0 at 0x2000: iretd, with the V86 frame at 0x9000.
    bus.put(0x2000, {0xCF});
    cpu.rip = 0x2000;
    cpu.gpr[kRsp] = 0x9000 - 36;
  }
  void v86_frame(uint32_t eflags) {
    uint32_t frame[9] = {0x0010, 0x0200, eflags, 0x0100, 0x0300, 0x0400, 0x0500, 0x0600, 0x0700};
    for (unsigned k = 0; k < 9; ++k) bus.put_obj<uint32_t>(0x9000 - 36 + k * 4, frame[k]);
  }
  TestBus bus;
  Cpu cpu{bus};
};

TEST_F(CpuV86, IretEntersV86AndCliWithIopl0TrapsToTheMonitor) {
  v86_frame(static_cast<uint32_t>(rflags::kVm | rflags::kFixed));
  // V86 code at 0x0200:0x0010: mov ax, [0x10] (DS = 0x500: linear 0x5010); cli
  bus.put(0x2010, {0xA1, 0x10, 0x00, 0xFA});
  bus.put_obj<uint16_t>(0x5010, 0xBEEF);
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.rip, 0x3F01u);
  EXPECT_EQ(cpu.gpr[kRax] & 0xFFFF, 0xBEEFu);
  EXPECT_EQ(cpu.cpl(), 0u);
  EXPECT_EQ(cpu.get_rflags() & rflags::kVm, 0u);
  EXPECT_TRUE(cpu.seg[kDs].unusable);
  EXPECT_EQ(cpu.seg[kDs].selector, 0);
  EXPECT_EQ(cpu.seg[kSs].selector, 0x10);
  EXPECT_EQ(cpu.gpr[kRsp], 0xA000u - 40);
  uint32_t expect[10] = {0x700, 0x600, 0x500, 0x400, 0x300, 0x100, 0, 0x200, 0x13, 0};
  for (unsigned k = 0; k < 10; ++k) {
    if (k == 6) continue;  // EFLAGS, below
    EXPECT_EQ(bus.get<uint32_t>(0xA000 - 4 * (k + 1)), expect[k]) << "slot " << k;
  }
  EXPECT_NE(bus.get<uint32_t>(0xA000 - 28) & rflags::kVm, 0u);
}

TEST_F(CpuV86, IntWithIopl3GoesThroughADpl3GateAndIretReturns) {
  v86_frame(static_cast<uint32_t>(rflags::kVm | rflags::kIopl | rflags::kFixed));
  set_gate32(bus, 0x21, 0x3000, 0xEE);
  // Ring 0 handler: inc ebx; iretd (back to V86 mode).
  bus.put(0x3000, {0x43, 0xCF});
  // V86: int 0x21; pushf; pop cx; hlt (#GP: CPL 3)
  bus.put(0x2010, {0xCD, 0x21, 0x9C, 0x59, 0xF4});
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.rip, 0x3F01u);
  EXPECT_EQ(cpu.gpr[kRbx], 1u);
  EXPECT_EQ(cpu.gpr[kRcx] & rflags::kIopl, rflags::kIopl);  // PUSHF allowed with IOPL 3
  EXPECT_EQ(bus.get<uint32_t>(0xA000 - 36), 0x14u);         // #GP at the HLT
  EXPECT_EQ(bus.get<uint32_t>(0xA000 - 24), 0x100u);        // SP back after pushf/pop
}

TEST_F(CpuV86, IretInV86WithIopl0IsGp) {
  v86_frame(static_cast<uint32_t>(rflags::kVm | rflags::kFixed));
  bus.put(0x2010, {0xCF});
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(bus.get<uint32_t>(0xA000 - 36), 0x10u);
}

}  // namespace
}  // namespace vessel::cpu

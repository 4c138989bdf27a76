// Call gates on the software CPU: a 32-bit gate from ring 3 to ring 0 with
// the TSS stack switch and parameter copy, RETF imm back to ring 3 with the
// data-segment nulling, a same-privilege CALL and a JMP through gates, the
// gate's privilege checks, and a 64-bit gate (16-byte descriptor) in long
// mode with RETFQ back.
#include <gtest/gtest.h>

#include "cpu_test_util.h"

namespace vessel::cpu {
namespace {

using testing::TestBus;

constexpr uint64_t kTss = 0x4000;

// A call gate descriptor (low 8 bytes): type 0xC (32-bit, or 64-bit in long mode).
uint64_t call_gate(uint16_t cs, uint32_t offset, unsigned dpl, unsigned params,
                   unsigned type = 0xC) {
  return (offset & 0xFFFF) | (uint64_t{cs} << 16) | (uint64_t{params} << 32) |
         (uint64_t{type} << 40) | (uint64_t{dpl} << 45) | (1ull << 47) |
         (uint64_t{offset >> 16} << 48);
}

void set_gate32(TestBus& bus, unsigned vector, uint32_t handler) {
  uint64_t gate = (handler & 0xFFFF) | (uint64_t{0x08} << 16) | (uint64_t{0x8E} << 40) |
                  (uint64_t{handler >> 16} << 48);
  bus.put_obj(testing::kIdt + vector * 8, gate);
}

class CpuCallGates : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::enter_protected32(cpu, bus);
    cpu.gdtr = {testing::kGdt, 16 * 8 - 1};
    cpu.idtr = {testing::kIdt, 256 * 8 - 1};
    // 32-bit TSS: ESP0 = 0xA000, SS0 = 0x10.
    bus.put_obj<uint32_t>(kTss + 4, 0xA000);
    bus.put_obj<uint32_t>(kTss + 8, 0x10);
    cpu.tr = Cpu::unpack_descriptor(0x58, 0x0000890000000067ull | (kTss << 16));
    cpu.tr.type = 0xB;
    // #GP: pop eax (error code); hlt
    set_gate32(bus, kGp, 0x3F00);
    bus.put(0x3F00, {0x58, 0xF4});
    cpu.gpr[kRax] = 0xDEAD;
  }
  void enter_ring3() {
    cpu.seg[kCs] = Cpu::unpack_descriptor(0x2B, 0x00CFFB000000FFFFull);
    SegmentCache data = Cpu::unpack_descriptor(0x33, 0x00CFF3000000FFFFull);
    for (unsigned r : {kDs, kEs, kFs, kGs, kSs}) cpu.seg[r] = data;
    cpu.update_mode();
  }
  TestBus bus;
  Cpu cpu{bus};
};

TEST_F(CpuCallGates, CallToRing0CopiesParametersAndRetfReturnsToRing3) {
  bus.put_obj(testing::kGdt + 0x38, call_gate(0x08, 0x3000, 3, 2));
  enter_ring3();
  // push 0x11111111; push 0x22222222; call 0x3B:0; mov ebx, 0x77; hlt (#GP at CPL 3)
  bus.put(0x2000, {0x68, 0x11, 0x11, 0x11, 0x11, 0x68, 0x22, 0x22, 0x22, 0x22, 0x9A, 0x00,
                   0x00, 0x00, 0x00, 0x3B, 0x00, 0xBB, 0x77, 0x00, 0x00, 0x00, 0xF4});
  // Ring 0: mov ax, 0x10; mov ds, ax; hlt; retf 8
  bus.put(0x3000, {0x66, 0xB8, 0x10, 0x00, 0x8E, 0xD8, 0xF4, 0xCA, 0x08, 0x00});
  cpu.rip = 0x2000;
  cpu.gpr[kRsp] = 0x8000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.rip, 0x3007u);
  EXPECT_EQ(cpu.cpl(), 0u);
  EXPECT_EQ(cpu.seg[kCs].selector, 0x08);
  EXPECT_EQ(cpu.seg[kSs].selector, 0x10);
  EXPECT_EQ(cpu.gpr[kRsp], 0xA000u - 24);
  EXPECT_EQ(bus.get<uint32_t>(0xA000 - 4), 0x33u);    // old SS
  EXPECT_EQ(bus.get<uint32_t>(0xA000 - 8), 0x7FF8u);  // old ESP
  EXPECT_EQ(bus.get<uint32_t>(0xA000 - 12), 0x11111111u);
  EXPECT_EQ(bus.get<uint32_t>(0xA000 - 16), 0x22222222u);
  EXPECT_EQ(bus.get<uint32_t>(0xA000 - 20), 0x2Bu);    // old CS
  EXPECT_EQ(bus.get<uint32_t>(0xA000 - 24), 0x2011u);  // return EIP
  // RETF 8: back to ring 3, parameters dropped on both stacks, DS (DPL 0) nulled.
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.rip, 0x3F02u);  // the #GP of HLT at CPL 3
  EXPECT_EQ(cpu.gpr[kRax], 0u);
  EXPECT_EQ(cpu.gpr[kRbx], 0x77u);
  // The #GP frame on the ring-0 stack: SS, ESP, EFLAGS, CS, EIP, error code.
  EXPECT_EQ(bus.get<uint32_t>(0xA000 - 8), 0x8000u);   // ESP: parameters dropped
  EXPECT_EQ(bus.get<uint32_t>(0xA000 - 16), 0x2Bu);    // CS
  EXPECT_EQ(bus.get<uint32_t>(0xA000 - 20), 0x2016u);  // EIP of the HLT
  EXPECT_EQ(cpu.seg[kDs].selector, 0);
  EXPECT_TRUE(cpu.seg[kDs].unusable);
  EXPECT_EQ(cpu.seg[kEs].selector, 0x33);
}

TEST_F(CpuCallGates, SamePrivilegeCallAndJmpThroughGates) {
  bus.put_obj(testing::kGdt + 0x38, call_gate(0x08, 0x3000, 0, 0));
  bus.put_obj(testing::kGdt + 0x40, call_gate(0x08, 0x3100, 0, 0, 0x4));  // 16-bit gate
  // call 0x38:0 (offset ignored)
  bus.put(0x2000, {0x9A, 0x44, 0x44, 0x00, 0x00, 0x38, 0x00});
  bus.put(0x3000, {0xEA, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00});  // jmp 0x40:0
  bus.put(0x3100, {0xF4});
  cpu.rip = 0x2000;
  cpu.gpr[kRsp] = 0x9000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.rip, 0x3101u);
  EXPECT_EQ(cpu.gpr[kRsp], 0x9000u - 8);
  EXPECT_EQ(bus.get<uint32_t>(0x9000 - 4), 0x08u);
  EXPECT_EQ(bus.get<uint32_t>(0x9000 - 8), 0x2007u);
  EXPECT_EQ(cpu.seg[kSs].selector, 0x10);
}

TEST_F(CpuCallGates, GateDplBelowCplIsGpWithTheGateSelector) {
  bus.put_obj(testing::kGdt + 0x38, call_gate(0x08, 0x3000, 0, 0));
  enter_ring3();
  bus.put(0x2000, {0x9A, 0x00, 0x00, 0x00, 0x00, 0x3B, 0x00});
  cpu.rip = 0x2000;
  cpu.gpr[kRsp] = 0x8000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRax], 0x38u);
  EXPECT_EQ(bus.get<uint32_t>(0xA000 - 20), 0x2000u);  // fault: the CALL
}

TEST_F(CpuCallGates, JmpThroughGateToInnerLevelIsGp) {
  bus.put_obj(testing::kGdt + 0x38, call_gate(0x08, 0x3000, 3, 0));
  enter_ring3();
  bus.put(0x2000, {0xEA, 0x00, 0x00, 0x00, 0x00, 0x3B, 0x00});
  cpu.rip = 0x2000;
  cpu.gpr[kRsp] = 0x8000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRax], 0x08u);  // error code: the code segment's selector
}

TEST_F(CpuCallGates, NotPresentGateIsNp) {
  bus.put_obj(testing::kGdt + 0x38, call_gate(0x08, 0x3000, 0, 0) & ~(1ull << 47));
  set_gate32(bus, kNp, 0x3F00);
  bus.put(0x2000, {0x9A, 0x00, 0x00, 0x00, 0x00, 0x38, 0x00});
  cpu.rip = 0x2000;
  cpu.gpr[kRsp] = 0x9000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRax], 0x38u);
}

TEST(CpuCallGates64, GateFromRing3ToRing0AndRetfqBack) {
  TestBus bus;
  Cpu cpu{bus};
  testing::enter_long64(cpu, bus);
  cpu.gdtr = {testing::kGdt, 16 * 8 - 1};
  cpu.idtr = {testing::kIdt, 256 * 16 - 1};
  // 0x40: user code64; 0x48: 64-bit call gate (16 bytes) to 0x18:0x1_0000_3000.
  bus.put_obj<uint64_t>(testing::kGdt + 0x40, 0x00AFFB000000FFFFull);
  bus.put_obj<uint64_t>(testing::kGdt + 0x48, call_gate(0x18, 0x3000, 3, 5));
  bus.put_obj<uint64_t>(testing::kGdt + 0x50, 0);  // offset 63:32 = 0, type 0
  // 64-bit TSS: RSP0 = 0xA000.
  bus.put_obj<uint64_t>(kTss + 4, 0xA000);
  cpu.tr = Cpu::unpack_descriptor(0x58, 0x0000890000000067ull | (kTss << 16));
  cpu.tr.type = 0xB;
  // #GP gate (64-bit) to 0x18:0x3F00: pop rax; hlt
  uint64_t lo = 0x3F00 | (uint64_t{0x18} << 16) | (uint64_t{0x8E} << 40);
  bus.put_obj(testing::kIdt + kGp * 16, lo);
  bus.put(0x3F00, {0x58, 0xF4});
  cpu.seg[kCs] = Cpu::unpack_descriptor(0x43, 0x00AFFB000000FFFFull);
  cpu.seg[kSs] = Cpu::unpack_descriptor(0x33, 0x00CFF3000000FFFFull);
  cpu.update_mode();
  ASSERT_EQ(cpu.cpl(), 3u);
  // call far [0x6000] (m16:32, offset ignored); mov ebx, 0x77; hlt
  bus.put(0x2000, {0xFF, 0x1C, 0x25, 0x00, 0x60, 0x00, 0x00, 0xBB, 0x77, 0x00, 0x00, 0x00, 0xF4});
  bus.put_obj<uint32_t>(0x6000, 0);
  bus.put_obj<uint16_t>(0x6004, 0x4B);
  // Ring 0: hlt; retfq
  bus.put(0x3000, {0xF4, 0x48, 0xCB});
  cpu.rip = 0x2000;
  cpu.gpr[kRsp] = 0x8000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.rip, 0x3001u);
  EXPECT_EQ(cpu.cpl(), 0u);
  EXPECT_TRUE(cpu.mode64());
  EXPECT_EQ(cpu.seg[kSs].selector, 0);
  EXPECT_EQ(cpu.gpr[kRsp], 0xA000u - 32);
  EXPECT_EQ(bus.get<uint64_t>(0xA000 - 8), 0x33u);     // old SS
  EXPECT_EQ(bus.get<uint64_t>(0xA000 - 16), 0x8000u);  // old RSP (no parameters)
  EXPECT_EQ(bus.get<uint64_t>(0xA000 - 24), 0x43u);    // old CS
  EXPECT_EQ(bus.get<uint64_t>(0xA000 - 32), 0x2007u);  // return RIP
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.rip, 0x3F02u);
  EXPECT_EQ(cpu.gpr[kRbx], 0x77u);
  EXPECT_EQ(bus.get<uint64_t>(0xA000 - 40), 0x200Cu);  // #GP frame: RIP of the HLT
  EXPECT_EQ(bus.get<uint64_t>(0xA000 - 16), 0x8000u);  // RSP restored by RETFQ
  EXPECT_EQ(bus.get<uint64_t>(0xA000 - 8), 0x33u);
}

TEST(CpuCallGates64, SixteenBitGateTypeIsGpInLongMode) {
  TestBus bus;
  Cpu cpu{bus};
  testing::enter_long64(cpu, bus);
  cpu.gdtr = {testing::kGdt, 16 * 8 - 1};
  cpu.idtr = {testing::kIdt, 256 * 16 - 1};
  bus.put_obj<uint64_t>(testing::kGdt + 0x48, call_gate(0x18, 0x3000, 0, 0, 0x4));
  uint64_t lo = 0x3F00 | (uint64_t{0x18} << 16) | (uint64_t{0x8E} << 40);
  bus.put_obj(testing::kIdt + kGp * 16, lo);
  bus.put(0x3F00, {0x58, 0xF4});
  bus.put(0x2000, {0xFF, 0x1C, 0x25, 0x00, 0x60, 0x00, 0x00});
  bus.put_obj<uint16_t>(0x6004, 0x48);
  cpu.rip = 0x2000;
  cpu.gpr[kRsp] = 0x8000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRax], 0x48u);
}

}  // namespace
}  // namespace vessel::cpu

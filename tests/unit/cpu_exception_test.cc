// Exception and interrupt delivery: real-mode IVT, 32-bit IDT with error
// codes, privilege change through the TSS, 64-bit IDT with IST and stack
// alignment, double fault, triple fault, #PF with CR2, and IRET back.
#include <gtest/gtest.h>

#include "cpu_test_util.h"

namespace vessel::cpu {
namespace {

using testing::TestBus;

void set_gate32(TestBus& bus, unsigned vector, uint32_t handler, uint8_t type_attr = 0x8E) {
  uint64_t gate = (handler & 0xFFFF) | (uint64_t{0x08} << 16) | (uint64_t{type_attr} << 40) |
                  (uint64_t{handler >> 16} << 48);
  bus.put_obj(testing::kIdt + vector * 8, gate);
}

void set_gate64(TestBus& bus, unsigned vector, uint64_t handler, unsigned ist = 0) {
  uint64_t lo = (handler & 0xFFFF) | (uint64_t{0x18} << 16) | (uint64_t{ist} << 32) |
                (uint64_t{0x8E} << 40) | (((handler >> 16) & 0xFFFF) << 48);
  bus.put_obj(testing::kIdt + vector * 16, lo);
  bus.put_obj<uint64_t>(testing::kIdt + vector * 16 + 8, handler >> 32);
}

class CpuExceptions : public ::testing::Test {
 protected:
  TestBus bus;
  Cpu cpu{bus};
};

TEST_F(CpuExceptions, RealModeIntAndIret) {
  // IVT[0x21] = 0000:0x600; handler: inc bx; iret. Code at 0x500: int 0x21; hlt.
  bus.put_obj<uint32_t>(0x21 * 4, 0x600);
  bus.put(0x600, {0x43, 0xCF});
  bus.put(0x700, {0xCD, 0x21, 0xF4});
  cpu.seg[kCs].selector = 0;
  cpu.seg[kCs].base = 0;
  cpu.rip = 0x700;
  cpu.gpr[kRsp] = 0x7000;
  cpu.set_rflags(rflags::kIf | rflags::kFixed);
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRbx], 1u);
  EXPECT_EQ(cpu.gpr[kRsp], 0x7000u);
  EXPECT_EQ(cpu.rip, 0x703u);
  EXPECT_TRUE(cpu.flag_if());  // restored by IRET
}

TEST_F(CpuExceptions, ProtectedModeGpWithErrorCode) {
  testing::enter_protected32(cpu, bus);
  cpu.idtr = {testing::kIdt, 256 * 8 - 1};
  set_gate32(bus, kGp, 0x3000);
  // Handler: pop eax (error code); hlt.
  bus.put(0x3000, {0x58, 0xF4});
  // mov ds, [0x1230 selector beyond the GDT]: 66 B8 30 12; 8E D8
  bus.put(0x2000, {0x66, 0xB8, 0x30, 0x12, 0x8E, 0xD8});
  cpu.rip = 0x2000;
  cpu.gpr[kRsp] = 0x9000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRax], 0x1230u);
  EXPECT_EQ(bus.get<uint32_t>(0x9000 - 12), 0x2004u);  // saved EIP: the faulting MOV
  EXPECT_EQ(bus.get<uint32_t>(0x9000 - 8), 0x08u);     // saved CS
  EXPECT_EQ(cpu.seg[kDs].selector, 0x10);              // DS unchanged
}

TEST_F(CpuExceptions, PrivilegeChangeUsesTheTssStack) {
  testing::enter_protected32(cpu, bus);
  cpu.idtr = {testing::kIdt, 256 * 8 - 1};
  set_gate32(bus, 0x80, 0x3000, 0xEE);  // DPL 3 interrupt gate
  bus.put(0x3000, {0xF4});
  // 32-bit TSS at 0x4000: ESP0 = 0xA000, SS0 = 0x10.
  bus.put_obj<uint32_t>(0x4004, 0xA000);
  bus.put_obj<uint32_t>(0x4008, 0x10);
  cpu.tr = Cpu::unpack_descriptor(0x38, 0x0000890040000067ull);
  cpu.tr.type = 0xB;
  // User mode: CS 0x2B, SS 0x33.
  cpu.seg[kCs] = Cpu::unpack_descriptor(0x2B, 0x00CFFB000000FFFFull);
  cpu.seg[kSs] = Cpu::unpack_descriptor(0x33, 0x00CFF3000000FFFFull);
  cpu.update_mode();
  ASSERT_EQ(cpu.cpl(), 3u);
  bus.put(0x2000, {0xCD, 0x80});
  cpu.rip = 0x2000;
  cpu.gpr[kRsp] = 0x8000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.cpl(), 0u);
  EXPECT_EQ(cpu.seg[kSs].selector, 0x10);
  EXPECT_EQ(cpu.gpr[kRsp], 0xA000u - 20);
  EXPECT_EQ(bus.get<uint32_t>(0xA000 - 4), 0x33u);     // old SS
  EXPECT_EQ(bus.get<uint32_t>(0xA000 - 8), 0x8000u);   // old ESP
  EXPECT_EQ(bus.get<uint32_t>(0xA000 - 16), 0x2Bu);    // old CS
  EXPECT_EQ(bus.get<uint32_t>(0xA000 - 20), 0x2002u);  // return EIP
}

TEST_F(CpuExceptions, SoftwareInterruptChecksGateDpl) {
  testing::enter_protected32(cpu, bus);
  cpu.idtr = {testing::kIdt, 256 * 8 - 1};
  set_gate32(bus, 0x80, 0x3000, 0x8E);  // DPL 0
  set_gate32(bus, kGp, 0x3100);
  bus.put(0x3100, {0x58, 0xF4});  // pop error code; hlt
  cpu.tr = Cpu::unpack_descriptor(0x38, 0x0000890040000067ull);
  bus.put_obj<uint32_t>(0x4004, 0xA000);
  bus.put_obj<uint32_t>(0x4008, 0x10);
  cpu.seg[kCs] = Cpu::unpack_descriptor(0x2B, 0x00CFFB000000FFFFull);
  cpu.seg[kSs] = Cpu::unpack_descriptor(0x33, 0x00CFF3000000FFFFull);
  cpu.update_mode();
  bus.put(0x2000, {0xCD, 0x80});
  cpu.rip = 0x2000;
  cpu.gpr[kRsp] = 0x8000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRax], 0x80u * 8 + 2);  // IDT error code, EXT = 0
}

TEST_F(CpuExceptions, DoubleFaultThenTripleFault) {
  testing::enter_protected32(cpu, bus);
  cpu.idtr = {testing::kIdt, 256 * 8 - 1};
  set_gate32(bus, kDf, 0x3000);
  bus.put(0x3000, {0x5B, 0xF4});  // pop ebx (error code 0); hlt
  // #DE whose gate is not present: #NP (contributory) during #DE -> #DF.
  bus.put(0x2000, {0x31, 0xC9, 0xF7, 0xF1});  // xor ecx, ecx; div ecx
  cpu.rip = 0x2000;
  cpu.gpr[kRsp] = 0x9000;
  cpu.gpr[kRbx] = 0xFFFF;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRbx], 0u);
  EXPECT_EQ(cpu.rip, 0x3002u);
  // Now without a #DF gate either: shutdown.
  bus.put_obj<uint64_t>(testing::kIdt + kDf * 8, 0);
  cpu.rip = 0x2000;
  cpu.gpr[kRsp] = 0x9000;
  EXPECT_EQ(testing::run(cpu), CpuExit::kShutdown);
}

TEST_F(CpuExceptions, LongModePageFaultWithIstAndAlignment) {
  testing::enter_long64(cpu, bus);
  cpu.idtr = {testing::kIdt, 256 * 16 - 1};
  set_gate64(bus, kPf, 0x3000, 1);
  bus.put(0x3000, {0x58, 0x0F, 0x20, 0xD3, 0xF4});  // pop rax (error); mov rbx, cr2; hlt
  // 64-bit TSS at 0x4000 with IST1 = 0xB008 (misaligned on purpose).
  bus.put_obj<uint64_t>(0x4000 + 0x24, 0xB008);
  cpu.tr = Cpu::unpack_descriptor(0x40, 0x0000890040000067ull);
  cpu.tr.type = 0xB;
  // mov rax, [0x4000000000]: far outside the identity map (PML4 slot 0 covers 512 GiB,
  // but only the first GiB has a PD): PDPT entry 1 is absent.
  bus.put(0x2000, {0x48, 0xA1, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00});
  cpu.rip = 0x2000;
  cpu.gpr[kRsp] = 0x9000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRax], 0u);            // not present, read, supervisor
  EXPECT_EQ(cpu.gpr[kRbx], 0x40000000u);   // CR2
  EXPECT_EQ(cpu.gpr[kRsp], 0xB000u - 40);  // aligned IST stack, 5 slots left after pop
  // Frame from the top: SS, RSP, RFLAGS, CS, RIP, error code.
  EXPECT_EQ(bus.get<uint64_t>(0xB000 - 16), 0x9000u);  // saved RSP
  EXPECT_EQ(bus.get<uint64_t>(0xB000 - 32), 0x18u);    // saved CS
  EXPECT_EQ(bus.get<uint64_t>(0xB000 - 40), 0x2000u);  // saved RIP: the faulting MOV
}

TEST_F(CpuExceptions, UnimplementedInstructionIsUd) {
  testing::enter_protected32(cpu, bus);
  cpu.idtr = {testing::kIdt, 256 * 8 - 1};
  set_gate32(bus, kUd, 0x3000);
  bus.put(0x3000, {0xF4});
  bus.put(0x2000, {0x0F, 0x28, 0xC1});  // movaps: not implemented (no SSE yet)
  cpu.rip = 0x2000;
  cpu.gpr[kRsp] = 0x9000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(bus.get<uint32_t>(0x9000 - 12), 0x2000u);
}

}  // namespace
}  // namespace vessel::cpu

namespace vessel::cpu {
namespace {

class FakeInterrupts : public CpuInterruptSource {
 public:
  bool pending() override { return raised; }
  std::optional<uint8_t> acknowledge() override {
    ++acks;
    if (spurious) return std::nullopt;
    raised = false;
    return vector;
  }
  bool raised = false;
  bool spurious = false;
  uint8_t vector = 0x20;
  int acks = 0;
};

class CpuExternalInterrupts : public ::testing::Test {
 protected:
  void SetUp() override {
    // Real mode: IVT[0x20] = 0000:0x600, handler: inc bx; iret.
    bus.put_obj<uint32_t>(0x20 * 4, 0x600);
    bus.put(0x600, {0x43, 0xCF});
    cpu.seg[kCs].selector = 0;
    cpu.seg[kCs].base = 0;
    cpu.gpr[kRsp] = 0x7000;
    cpu.gpr[kRdx] = 0;  // reset leaves the processor signature there
    cpu.set_interrupt_source(&intr);
  }
  testing::TestBus bus;
  Cpu cpu{bus};
  FakeInterrupts intr;
};

TEST_F(CpuExternalInterrupts, DeliveredOnlyWithIfAndAfterTheStiShadow) {
  // cli; mov cx, 1; sti; inc dx; hlt
  bus.put(0x700, {0xFA, 0xB9, 0x01, 0x00, 0xFB, 0x42, 0xF4});
  cpu.rip = 0x700;
  cpu.set_rflags(rflags::kFixed);
  intr.raised = true;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRbx], 1u);  // delivered once
  EXPECT_EQ(intr.acks, 1);
  // The instruction in STI's shadow (inc dx) ran before the interrupt: the
  // handler returned to the HLT, which then halted.
  EXPECT_EQ(cpu.gpr[kRdx], 1u);
  EXPECT_EQ(cpu.rip, 0x707u);
  EXPECT_EQ(cpu.stats().interrupts, 1u);
}

TEST_F(CpuExternalInterrupts, SpuriousAcknowledgeKeepsExecuting) {
  bus.put(0x700, {0x42, 0xF4});  // inc dx; hlt
  cpu.rip = 0x700;
  cpu.set_rflags(rflags::kFixed | rflags::kIf);
  intr.raised = true;
  intr.spurious = true;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRdx], 1u);
  EXPECT_EQ(cpu.gpr[kRbx], 0u);
}

}  // namespace
}  // namespace vessel::cpu

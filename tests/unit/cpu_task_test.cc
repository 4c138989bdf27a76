// Hardware task switches on the software CPU (32-bit TSS): CALL to a TSS
// and IRET back along the link (busy bits, NT, back link, saved and loaded
// registers, CR0.TS), JMP through a task gate, a double fault through a
// task gate in the IDT (error code on the new task's stack), a busy target,
// and a new task whose segments are bad (#TS in the new task).
#include <gtest/gtest.h>

#include "cpu_test_util.h"

namespace vessel::cpu {
namespace {

using testing::gdt_type;
using testing::TestBus;
using testing::tss_descriptor;

constexpr uint64_t kTssA = 0x4000, kTssB = 0x4100;
constexpr uint16_t kSelA = 0x38, kSelB = 0x40, kSelGate = 0x48;

class CpuTasks : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::enter_protected32(cpu, bus);
    cpu.gdtr = {testing::kGdt, 16 * 8 - 1};
    cpu.idtr = {testing::kIdt, 256 * 8 - 1};
    bus.put_obj(testing::kGdt + kSelA, tss_descriptor(kTssA, 0xB));
    bus.put_obj(testing::kGdt + kSelB, tss_descriptor(kTssB, 0x9));
    // Task gate to TSS B, DPL 0.
    bus.put_obj(testing::kGdt + kSelGate, (uint64_t{kSelB} << 16) | (0x85ull << 40));
    cpu.tr = Cpu::unpack_descriptor(kSelA, tss_descriptor(kTssA, 0xB));
    // Task B: EIP 0x3000, flat ring 0, ESP 0x7000, EAX 0x1111, ESI 0x2222.
    bus.put_obj<uint32_t>(kTssB + 0x20, 0x3000);
    bus.put_obj<uint32_t>(kTssB + 0x24, 0x2);
    bus.put_obj<uint32_t>(kTssB + 0x28, 0x1111);
    bus.put_obj<uint32_t>(kTssB + 0x38, 0x7000);
    bus.put_obj<uint32_t>(kTssB + 0x40, 0x2222);
    for (unsigned s = 0; s < 6; ++s) bus.put_obj<uint32_t>(kTssB + 0x48 + s * 4, 0x10);
    bus.put_obj<uint32_t>(kTssB + 0x4C, 0x08);  // CS
    cpu.gpr[kRsp] = 0x9000;
    cpu.gpr[kRax] = 0xAAAA;
    cpu.rip = 0x2000;
  }
  // Vector `vector`'s handler at 0x3F00: pop eax (error code); hlt.
  void set_error_handler(unsigned vector) {
    uint64_t gate = 0x3F00 | (uint64_t{0x08} << 16) | (uint64_t{0x8E} << 40);
    bus.put_obj(testing::kIdt + vector * 8, gate);
    bus.put(0x3F00, {0x58, 0xF4});
  }
  TestBus bus;
  Cpu cpu{bus};
};

TEST_F(CpuTasks, CallToTssAndIretBack) {
  // Task A: call 0x40:0; mov ecx, 0x55; hlt
  bus.put(0x2000, {0x9A, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0xB9, 0x55, 0x00, 0x00, 0x00, 0xF4});
  // Task B: pushfd; pop edx; hlt; iret
  bus.put(0x3000, {0x9C, 0x5A, 0xF4, 0xCF});
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.rip, 0x3003u);
  EXPECT_EQ(cpu.tr.selector, kSelB);
  EXPECT_EQ(cpu.gpr[kRax], 0x1111u);
  EXPECT_EQ(cpu.gpr[kRsi], 0x2222u);
  EXPECT_EQ(cpu.gpr[kRsp], 0x7000u);
  EXPECT_NE(cpu.gpr[kRdx] & rflags::kNt, 0u);  // nested
  EXPECT_NE(cpu.cr0 & cr0::kTs, 0u);
  EXPECT_EQ(bus.get<uint16_t>(kTssB + 0x00), kSelA);  // back link
  EXPECT_EQ(gdt_type(bus, kSelA), 0xBu);              // both busy
  EXPECT_EQ(gdt_type(bus, kSelB), 0xBu);
  // Task A's state in its TSS.
  EXPECT_EQ(bus.get<uint32_t>(kTssA + 0x20), 0x2007u);  // EIP after the CALL
  EXPECT_EQ(bus.get<uint32_t>(kTssA + 0x28), 0xAAAAu);  // EAX
  EXPECT_EQ(bus.get<uint32_t>(kTssA + 0x38), 0x9000u);  // ESP
  EXPECT_EQ(bus.get<uint16_t>(kTssA + 0x4C), 0x08u);    // CS

  cpu.cr0 &= ~cr0::kTs;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.rip, 0x200Du);
  EXPECT_EQ(cpu.tr.selector, kSelA);
  EXPECT_EQ(cpu.gpr[kRcx], 0x55u);
  EXPECT_EQ(cpu.gpr[kRax], 0xAAAAu);
  EXPECT_EQ(cpu.gpr[kRsp], 0x9000u);
  EXPECT_EQ(cpu.get_rflags() & rflags::kNt, 0u);
  EXPECT_NE(cpu.cr0 & cr0::kTs, 0u);
  EXPECT_EQ(gdt_type(bus, kSelA), 0xBu);
  EXPECT_EQ(gdt_type(bus, kSelB), 0x9u);                         // IRET freed task B
  EXPECT_EQ(bus.get<uint32_t>(kTssB + 0x20), 0x3004u);           // B resumes after its IRET
  EXPECT_EQ(bus.get<uint32_t>(kTssB + 0x24) & rflags::kNt, 0u);  // NT cleared in B's image
}

TEST_F(CpuTasks, JmpThroughTaskGate) {
  bus.put(0x2000, {0xEA, 0x00, 0x00, 0x00, 0x00, 0x48, 0x00});  // jmp 0x48:0
  bus.put(0x3000, {0x9C, 0x5A, 0xF4});                          // pushfd; pop edx; hlt
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.tr.selector, kSelB);
  EXPECT_EQ(cpu.gpr[kRdx] & rflags::kNt, 0u);  // JMP does not nest
  EXPECT_EQ(gdt_type(bus, kSelA), 0x9u);       // JMP frees the old task
  EXPECT_EQ(gdt_type(bus, kSelB), 0xBu);
  EXPECT_EQ(bus.get<uint16_t>(kTssB + 0x00), 0u);  // no back link
}

TEST_F(CpuTasks, DoubleFaultThroughTaskGate) {
  // IDT[8] = task gate to TSS B; #DE's gate is not present: #NP during #DE -> #DF.
  bus.put_obj(testing::kIdt + kDf * 8, (uint64_t{kSelB} << 16) | (0x85ull << 40));
  bus.put(0x2000, {0x31, 0xC9, 0xF7, 0xF1});  // xor ecx, ecx; div ecx
  bus.put(0x3000, {0x5B, 0xF4});              // pop ebx (error code); hlt
  cpu.gpr[kRbx] = 0xFFFF;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.tr.selector, kSelB);
  EXPECT_EQ(cpu.gpr[kRbx], 0u);
  EXPECT_EQ(cpu.gpr[kRsp], 0x7000u);
  EXPECT_EQ(bus.get<uint32_t>(kTssA + 0x20), 0x2002u);  // the faulting DIV
  EXPECT_EQ(bus.get<uint16_t>(kTssB + 0x00), kSelA);
}

TEST_F(CpuTasks, BusyTargetIsGp) {
  set_error_handler(kGp);
  bus.put(0x2000, {0xEA, 0x00, 0x00, 0x00, 0x00, 0x38, 0x00});  // jmp 0x38:0 (the current task)
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRax], kSelA);
  EXPECT_EQ(cpu.tr.selector, kSelA);
}

TEST_F(CpuTasks, BadSegmentInNewTaskIsTsInThatTask) {
  set_error_handler(kTs);
  bus.put_obj<uint32_t>(kTssB + 0x54, 0x60);  // DS: an empty GDT slot
  bus.put(0x2000, {0x9A, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00});
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.rip, 0x3F02u);
  EXPECT_EQ(cpu.gpr[kRax], 0x60u);
  EXPECT_EQ(cpu.tr.selector, kSelB);                   // the switch happened
  EXPECT_EQ(bus.get<uint32_t>(0x7000 - 12), 0x3000u);  // the new task's first EIP
  EXPECT_EQ(cpu.seg[kDs].selector, 0x60);
  EXPECT_TRUE(cpu.seg[kDs].unusable);
}

}  // namespace
}  // namespace vessel::cpu

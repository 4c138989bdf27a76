// Hardware task switches with 16-bit (286) TSSs on the software CPU (SDM
// Vol. 3 7.6): CALL from a 32-bit task to a 16-bit TSS and IRET back (the
// 16-bit image loaded, the 32-bit one saved, busy bits, NT, back link), JMP
// from a 16-bit task through a task gate to a 32-bit TSS (the 16-bit image
// saved), an exception through a task gate to a 16-bit TSS (a word error
// code), the limit check (#TS below 0x2B) and LTR of a 16-bit TSS.
#include <gtest/gtest.h>

#include "cpu_test_util.h"

namespace vessel::cpu {
namespace {

using testing::gdt_type;
using testing::TestBus;
using testing::tss_descriptor;

constexpr uint64_t kTssA = 0x4000, kTssB = 0x4100, kTssC = 0x4200;
constexpr uint16_t kSelA = 0x38, kSelB = 0x40, kSelC = 0x50, kSelGateB = 0x58;
constexpr uint16_t kData16 = 0x68;  // flat data, B = 0 (a 16-bit stack)

class CpuTasks16 : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::enter_protected32(cpu, bus);
    cpu.gdtr = {testing::kGdt, 16 * 8 - 1};
    cpu.idtr = {testing::kIdt, 256 * 8 - 1};
    bus.put_obj(testing::kGdt + kSelA, tss_descriptor(kTssA, 0xB, 0x67));
    bus.put_obj(testing::kGdt + kSelB, tss_descriptor(kTssB, 0x9, 0x67));
    bus.put_obj(testing::kGdt + kSelC, tss_descriptor(kTssC, 0x1, 0x2B));
    bus.put_obj(testing::kGdt + kSelGateB, (uint64_t{kSelB} << 16) | (0x85ull << 40));
    bus.put_obj(testing::kGdt + kData16, uint64_t{0x000F92000000FFFFull});
    cpu.tr = Cpu::unpack_descriptor(kSelA, tss_descriptor(kTssA, 0xB, 0x67));
    // Task C (16-bit TSS): IP 0x3000, FLAGS 2, AX 0x1111, SP 0x7000, SI
    // 0x2222, ES/DS 0x10, CS 0x08, SS the 16-bit stack.
    bus.put_obj<uint16_t>(kTssC + 0x0E, 0x3000);
    bus.put_obj<uint16_t>(kTssC + 0x10, 0x2);
    bus.put_obj<uint16_t>(kTssC + 0x12, 0x1111);
    bus.put_obj<uint16_t>(kTssC + 0x1A, 0x7000);
    bus.put_obj<uint16_t>(kTssC + 0x1E, 0x2222);
    bus.put_obj<uint16_t>(kTssC + 0x22, 0x10);
    bus.put_obj<uint16_t>(kTssC + 0x24, 0x08);
    bus.put_obj<uint16_t>(kTssC + 0x26, kData16);
    bus.put_obj<uint16_t>(kTssC + 0x28, 0x10);
    // Task B (32-bit TSS): EIP 0x3800, flat ring 0, ESP 0x7800, EAX 0x3333.
    bus.put_obj<uint32_t>(kTssB + 0x20, 0x3800);
    bus.put_obj<uint32_t>(kTssB + 0x24, 0x2);
    bus.put_obj<uint32_t>(kTssB + 0x28, 0x3333);
    bus.put_obj<uint32_t>(kTssB + 0x38, 0x7800);
    for (unsigned s = 0; s < 6; ++s) bus.put_obj<uint32_t>(kTssB + 0x48 + s * 4, 0x10);
    bus.put_obj<uint32_t>(kTssB + 0x4C, 0x08);
    cpu.gpr[kRsp] = 0x9000;
    cpu.gpr[kRax] = 0xAAAA;
    cpu.gpr[kRdi] = 0x12345678;
    cpu.rip = 0x2000;
  }
  // Makes the 16-bit TSS C the current task (busy), with A available.
  void run_in_task_c() {
    bus.put_obj(testing::kGdt + kSelA, tss_descriptor(kTssA, 0x9, 0x67));
    bus.put_obj(testing::kGdt + kSelC, tss_descriptor(kTssC, 0x3, 0x2B));
    cpu.tr = Cpu::unpack_descriptor(kSelC, tss_descriptor(kTssC, 0x3, 0x2B));
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

TEST_F(CpuTasks16, CallToTss16AndIretBack) {
  // Task A: call 0x50:0; mov ecx, 0x55; hlt
  bus.put(0x2000, {0x9A, 0x00, 0x00, 0x00, 0x00, 0x50, 0x00, 0xB9, 0x55, 0x00, 0x00, 0x00, 0xF4});
  // Task C: pushfd; pop edx; mov ax, 0x4444; hlt; iret
  bus.put(0x3000, {0x9C, 0x5A, 0x66, 0xB8, 0x44, 0x44, 0xF4, 0xCF});
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.rip, 0x3007u);
  EXPECT_EQ(cpu.tr.selector, kSelC);
  EXPECT_EQ(cpu.tr.type, 0x3u);
  EXPECT_EQ(cpu.gpr[kRax], 0xFFFF4444u);  // upper halves of a 16-bit task: 0xFFFF
  EXPECT_EQ(cpu.gpr[kRsi], 0xFFFF2222u);
  EXPECT_EQ(cpu.gpr[kRsp], 0xFFFF7000u);                            // SP 0x7000 on the 16-bit stack
  EXPECT_EQ(bus.get<uint32_t>(0x6FFC) & rflags::kNt, rflags::kNt);  // pushed: nested
  EXPECT_EQ(cpu.seg[kSs].selector, kData16);
  EXPECT_EQ(cpu.seg[kFs].selector, 0u);  // no FS/GS in a 16-bit TSS: null
  EXPECT_TRUE(cpu.seg[kGs].unusable);
  EXPECT_NE(cpu.cr0 & cr0::kTs, 0u);
  EXPECT_EQ(bus.get<uint16_t>(kTssC + 0x00), kSelA);  // back link
  EXPECT_EQ(gdt_type(bus, kSelA), 0xBu);
  EXPECT_EQ(gdt_type(bus, kSelC), 0x3u);                // 16-bit busy
  EXPECT_EQ(bus.get<uint32_t>(kTssA + 0x20), 0x2007u);  // A saved in the 32-bit format
  EXPECT_EQ(bus.get<uint32_t>(kTssA + 0x28), 0xAAAAu);

  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);  // IRET back to A
  EXPECT_EQ(cpu.rip, 0x200Du);
  EXPECT_EQ(cpu.tr.selector, kSelA);
  EXPECT_EQ(cpu.gpr[kRcx], 0x55u);
  EXPECT_EQ(cpu.gpr[kRax], 0xAAAAu);
  EXPECT_EQ(cpu.gpr[kRdi], 0x12345678u);
  EXPECT_EQ(cpu.get_rflags() & rflags::kNt, 0u);
  EXPECT_EQ(gdt_type(bus, kSelC), 0x1u);  // IRET freed task C
  // C saved in the 16-bit format: IP after its IRET, AX, SP, NT clear in FLAGS.
  EXPECT_EQ(bus.get<uint16_t>(kTssC + 0x0E), 0x3008u);
  EXPECT_EQ(bus.get<uint16_t>(kTssC + 0x12), 0x4444u);
  EXPECT_EQ(bus.get<uint16_t>(kTssC + 0x1A), 0x7000u);
  EXPECT_EQ(bus.get<uint16_t>(kTssC + 0x10) & rflags::kNt, 0u);
  EXPECT_EQ(bus.get<uint16_t>(kTssC + 0x26), kData16);
  EXPECT_EQ(bus.get<uint16_t>(kTssC + 0x2A), 0u);  // the LDT slot is not written
}

TEST_F(CpuTasks16, JmpFromTss16ThroughTaskGate) {
  run_in_task_c();
  bus.put_obj<uint16_t>(kTssC + 0x2A, 0xBEEF);                  // must stay (not saved by a switch)
  bus.put(0x2000, {0xEA, 0x00, 0x00, 0x00, 0x00, 0x58, 0x00});  // jmp 0x58:0
  bus.put(0x3800, {0x9C, 0x5A, 0xF4});                          // pushfd; pop edx; hlt
  cpu.gpr[kRbx] = 0xCAFEBABE;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.tr.selector, kSelB);
  EXPECT_EQ(cpu.gpr[kRax], 0x3333u);
  EXPECT_EQ(cpu.gpr[kRdx] & rflags::kNt, 0u);
  EXPECT_EQ(gdt_type(bus, kSelC), 0x1u);  // JMP frees the old 16-bit task
  EXPECT_EQ(gdt_type(bus, kSelB), 0xBu);
  EXPECT_EQ(bus.get<uint16_t>(kTssC + 0x0E), 0x2007u);  // IP
  EXPECT_EQ(bus.get<uint16_t>(kTssC + 0x12), 0xAAAAu);  // AX
  EXPECT_EQ(bus.get<uint16_t>(kTssC + 0x18), 0xBABEu);  // BX: the low word only
  EXPECT_EQ(bus.get<uint16_t>(kTssC + 0x1A), 0x9000u);  // SP
  EXPECT_EQ(bus.get<uint16_t>(kTssC + 0x20), 0x5678u);  // DI
  EXPECT_EQ(bus.get<uint16_t>(kTssC + 0x24), 0x08u);    // CS
  EXPECT_EQ(bus.get<uint16_t>(kTssC + 0x2A), 0xBEEFu);
  EXPECT_EQ(bus.get<uint32_t>(kTssC + 0x2C), 0u);  // nothing past the 44 bytes
}

TEST_F(CpuTasks16, ExceptionThroughTaskGateToTss16PushesAWord) {
  // IDT[13] = task gate to TSS C; MOV DS with an empty GDT slot: #GP(0x78).
  bus.put_obj(testing::kIdt + kGp * 8, (uint64_t{kSelC} << 16) | (0x85ull << 40));
  bus.put(0x2000, {0x66, 0xB8, 0x7B, 0x00, 0x8E, 0xD8});  // mov ax, 0x7B; mov ds, ax
  bus.put(0x3000, {0xF4});
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.tr.selector, kSelC);
  EXPECT_EQ(cpu.gpr[kRsp], 0xFFFF6FFEu);              // one word pushed on SP 0x7000
  EXPECT_EQ(bus.get<uint16_t>(0x6FFE), 0x78u);        // the error code
  EXPECT_EQ(bus.get<uint16_t>(kTssC + 0x00), kSelA);  // nested
  EXPECT_NE(cpu.get_rflags() & rflags::kNt, 0u);
  EXPECT_EQ(bus.get<uint32_t>(kTssA + 0x20), 0x2004u);  // the faulting MOV DS
}

TEST_F(CpuTasks16, ShortTss16IsTs) {
  set_error_handler(kTs);
  bus.put_obj(testing::kGdt + kSelC, tss_descriptor(kTssC, 0x1, 0x2A));
  bus.put(0x2000, {0x9A, 0x00, 0x00, 0x00, 0x00, 0x50, 0x00});  // call 0x50:0
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.rip, 0x3F02u);
  EXPECT_EQ(cpu.gpr[kRax], kSelC);
  EXPECT_EQ(cpu.tr.selector, kSelA);  // no switch
  EXPECT_EQ(gdt_type(bus, kSelC), 0x1u);
}

TEST_F(CpuTasks16, IretToAnAvailableTss16IsTs) {
  set_error_handler(kTs);
  bus.put_obj<uint16_t>(kTssA, kSelC);  // back link to C, which is not busy
  cpu.set_rflags(cpu.get_rflags() | rflags::kNt);
  bus.put(0x2000, {0xCF});  // iret
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRax], kSelC);
  EXPECT_EQ(cpu.tr.selector, kSelA);
}

TEST_F(CpuTasks16, LtrOfTss16MarksItBusy) {
  bus.put(0x2000, {0x66, 0xB8, 0x50, 0x00, 0x0F, 0x00, 0xD8, 0xF4});  // mov ax, 0x50; ltr ax; hlt
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.tr.selector, kSelC);
  EXPECT_EQ(cpu.tr.type, 0x3u);
  EXPECT_EQ(cpu.tr.limit, 0x2Bu);
  EXPECT_EQ(cpu.tr.base, kTssC);
  EXPECT_EQ(gdt_type(bus, kSelC), 0x3u);
}

}  // namespace
}  // namespace vessel::cpu

// Instruction semantics that need a running CPU: restartable REP string
// instructions across a page fault, SYSCALL/SYSRET, IRET to user mode and
// back through the TSS, and a mix of data and bit instructions.
#include <gtest/gtest.h>

#include <thread>

#include "cpu_test_util.h"

namespace vessel::cpu {
namespace {

using testing::TestBus;

constexpr uint64_t kBase = 0x8000000000ull;  // PML4 slot 1: 4 KiB pages
constexpr uint64_t kPdpt = 0x110000, kPd = 0x111000, kPt = 0x112000;

void set_gate64(TestBus& bus, unsigned vector, uint64_t handler, uint8_t attr = 0x8E) {
  uint64_t lo = (handler & 0xFFFF) | (uint64_t{0x18} << 16) | (uint64_t{attr} << 40) |
                (((handler >> 16) & 0xFFFF) << 48);
  bus.put_obj(testing::kIdt + vector * 16, lo);
  bus.put_obj<uint64_t>(testing::kIdt + vector * 16 + 8, handler >> 32);
}

class CpuInstructions : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::enter_long64(cpu, bus);
    bus.put_obj<uint64_t>(testing::kPml4 + 8, kPdpt | 7);
    bus.put_obj<uint64_t>(kPdpt, kPd | 7);
    bus.put_obj<uint64_t>(kPd, kPt | 7);
    bus.put_obj<uint64_t>(kPt, 0x200000 | 7);  // page 0 present, page 1 not yet
    cpu.idtr = {testing::kIdt, 256 * 16 - 1};
    cpu.gpr[kRsp] = 0x9000;
  }
  TestBus bus;
  Cpu cpu{bus};
};

TEST_F(CpuInstructions, RepMovsbRestartsAfterAPageFault) {
  // #PF handler: pop rax; mov qword [kPt + 8], 0x201007; inc rbx; iretq
  bus.put(0x3000, {0x58, 0x48, 0xC7, 0x04, 0x25});
  bus.put_obj<uint32_t>(0x3005, kPt + 8);
  bus.put_obj<uint32_t>(0x3009, 0x201007);
  bus.put(0x300D, {0x48, 0xFF, 0xC3, 0x48, 0xCF});
  set_gate64(bus, kPf, 0x3000);
  for (int i = 0; i < 32; ++i) bus.mem[0x5000 + i] = static_cast<uint8_t>(i + 1);
  // mov rsi, 0x5000; movabs rdi, kBase + 0xFF0; mov ecx, 32; rep movsb; hlt
  bus.put(0x2000, {0xBE, 0x00, 0x50, 0x00, 0x00, 0x48, 0xBF});
  bus.put_obj<uint64_t>(0x2007, kBase + 0xFF0);
  bus.put(0x200F, {0xB9, 0x20, 0x00, 0x00, 0x00, 0xF3, 0xA4, 0xF4});
  cpu.rip = 0x2000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRbx], 1u);  // exactly one fault
  EXPECT_EQ(cpu.gpr[kRcx], 0u);
  EXPECT_EQ(cpu.gpr[kRdi], kBase + 0x1010);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(bus.mem[0x200FF0 + i], i + 1);
  for (int i = 16; i < 32; ++i) EXPECT_EQ(bus.mem[0x201000 + i - 16], i + 1);
  EXPECT_EQ(cpu.cr2, kBase + 0x1000);
}

TEST_F(CpuInstructions, SyscallAndSysretRoundTrip) {
  cpu.star = (uint64_t{0x23} << 48) | (uint64_t{0x18} << 32);
  cpu.lstar = 0x3000;
  cpu.sfmask = rflags::kIf | rflags::kTf;
  // Kernel entry: hlt (check), then the test resumes with sysret.
  bus.put(0x3000, {0xF4, 0x48, 0x0F, 0x07});  // hlt; sysretq
  // User code at 0x2000: syscall; mov ebx, 7; hlt (HLT at CPL 3 is #GP, so check before)
  bus.put(0x2000, {0x0F, 0x05, 0xBB, 0x07, 0x00, 0x00, 0x00, 0xEB, 0xFE});
  // Start in ring 0 with sysret to 0x2000 (ring 3).
  cpu.gpr[kRcx] = 0x2000;
  cpu.gpr[kR11] = rflags::kIf | rflags::kFixed;
  bus.put(0x4000, {0x48, 0x0F, 0x07});
  cpu.rip = 0x4000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);  // the HLT in the kernel entry
  EXPECT_EQ(cpu.cpl(), 0u);
  EXPECT_EQ(cpu.seg[kCs].selector, 0x18);
  EXPECT_EQ(cpu.seg[kSs].selector, 0x20);
  EXPECT_EQ(cpu.gpr[kRcx], 0x2002u);  // return address
  EXPECT_TRUE(cpu.gpr[kR11] & rflags::kIf);
  EXPECT_FALSE(cpu.flag_if());  // masked by SFMASK
  // Back to user mode: sysretq continues at 0x2002 with CPL 3.
  // Stopped once sysretq, mov and the first jmp have run (the instruction
  // count is readable from other threads; a fixed 10 ms once ran out before
  // a preempted test thread had started the CPU).
  std::atomic<bool> stop{false};
  const uint64_t start = cpu.stats().instructions.get();
  std::thread stopper([&] {
    while (cpu.stats().instructions.get() < start + 3) std::this_thread::yield();
    stop = true;
  });
  EXPECT_EQ(cpu.run(stop), CpuExit::kStopped);
  stopper.join();
  EXPECT_EQ(cpu.cpl(), 3u);
  EXPECT_EQ(cpu.seg[kCs].selector, 0x33);
  EXPECT_EQ(cpu.seg[kSs].selector, 0x2B);
  EXPECT_EQ(cpu.gpr[kRbx], 7u);
  EXPECT_TRUE(cpu.flag_if());
}

TEST_F(CpuInstructions, IretToUserAndInterruptBack) {
  // 64-bit TSS with RSP0 = 0xA000.
  bus.put_obj<uint64_t>(0x4004, 0xA000);
  cpu.tr = Cpu::unpack_descriptor(0x40, 0x0000890040000067ull);
  cpu.tr.type = 0xB;
  set_gate64(bus, 0x80, 0x3000, 0xEE);  // DPL 3
  bus.put(0x3000, {0xF4});
  // User code: int 0x80.
  bus.put(0x2000, {0xCD, 0x80});
  // Kernel: build an IRET frame to 0x2000 at CPL 3 (CS 0x2B, SS 0x33), iretq.
  // push 0x33; push 0x8000; push 0x202; push 0x2B; push 0x2000; iretq
  bus.put(0x5000, {0x6A, 0x33, 0x68, 0x00, 0x80, 0x00, 0x00, 0x68, 0x02, 0x02, 0x00,
                   0x00, 0x6A, 0x2B, 0x68, 0x00, 0x20, 0x00, 0x00, 0x48, 0xCF});
  // GDT: user code64 at 0x28 (DPL 3, L), user data at 0x30.
  bus.put_obj<uint64_t>(testing::kGdt + 0x28, 0x00AFFA000000FFFFull);
  cpu.rip = 0x5000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.cpl(), 0u);
  EXPECT_EQ(cpu.gpr[kRsp], 0xA000u - 40);
  EXPECT_EQ(bus.get<uint64_t>(0xA000 - 8), 0x33u);     // user SS
  EXPECT_EQ(bus.get<uint64_t>(0xA000 - 16), 0x8000u);  // user RSP
  EXPECT_EQ(bus.get<uint64_t>(0xA000 - 32), 0x2Bu);    // user CS
  EXPECT_EQ(bus.get<uint64_t>(0xA000 - 40), 0x2002u);  // return RIP
  EXPECT_TRUE(cpu.seg[kSs].unusable);                  // null SS at CPL 0
}

TEST_F(CpuInstructions, DataAndBitMix) {
  Cpu c(bus);
  testing::enter_protected32(c, bus);
  c.gpr[kRsp] = 0x9000;
  bus.put_obj<uint32_t>(0x6000, 0);
  bus.put_obj<uint32_t>(0x6004, 0x10);
  const uint8_t code[] = {
      0xB8, 0x05, 0x00, 0x00, 0x00,                    // mov eax, 5
      0xB9, 0x09, 0x00, 0x00, 0x00,                    // mov ecx, 9
      0xF0, 0x0F, 0xB1, 0x0D, 0x00, 0x60, 0x00, 0x00,  // lock cmpxchg [0x6000], ecx (fails: 0 != 5)
      0x89, 0xC6,                                      // mov esi, eax (0)
      0xF0, 0x0F, 0xB1, 0x0D, 0x00, 0x60, 0x00, 0x00,  // cmpxchg again (succeeds: writes 9)
      0xBA, 0x03, 0x00, 0x00, 0x00,                    // mov edx, 3
      0x0F, 0xC1, 0x15, 0x04, 0x60, 0x00, 0x00,        // xadd [0x6004], edx -> mem 0x13, edx 0x10
      0xBF, 0xFF, 0xFF, 0xFF, 0xFF,                    // mov edi, -1
      0x0F, 0xAB, 0x3D, 0x08, 0x60, 0x00, 0x00,        // bts [0x6008], edi: bit 31 of [0x6004]
      0x0F, 0xBC, 0xDA,                                // bsf ebx, edx (0x10 -> 4)
      0x0F, 0xBD, 0xEA,                                // bsr ebp, edx (4)
      0x0F, 0x9C, 0xC0,                                // setl al (after bsr: SF/OF from last arith)
      0x66, 0xB8, 0x80, 0xFF,                          // mov ax, 0xFF80
      0x0F, 0xBE, 0xC0,                                // movsx eax, al -> 0xFFFFFF80
      0x60,                                            // pushad
      0x31, 0xC0,                                      // xor eax, eax
      0x61,                                            // popad (eax back)
      0xC8, 0x10, 0x00, 0x00,                          // enter 16, 0
      0xC9,                                            // leave
      0xF4,
  };
  std::memcpy(bus.mem.data() + 0x2000, code, sizeof(code));
  c.rip = 0x2000;
  ASSERT_EQ(testing::run(c), CpuExit::kHalted);
  EXPECT_EQ(c.gpr[kRsi], 0u);
  EXPECT_EQ(bus.get<uint32_t>(0x6000), 9u);
  EXPECT_EQ(c.gpr[kRdx], 0x10u);
  EXPECT_EQ(bus.get<uint32_t>(0x6004), 0x80000013u);
  EXPECT_EQ(c.gpr[kRbx], 4u);
  EXPECT_EQ(c.gpr[kRbp], 4u);
  EXPECT_EQ(c.gpr[kRax], 0xFFFFFF80u);
  EXPECT_EQ(c.gpr[kRsp], 0x9000u);
}

}  // namespace
}  // namespace vessel::cpu

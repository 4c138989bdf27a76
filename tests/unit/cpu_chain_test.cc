// Handler and block chaining (exec/chain.h, Cpu::chain_block): instruction
// counts stay exact when blocks run into each other, the executor's checks
// still happen at chained block boundaries, and fast handler variants fall
// back to the full ones without a trace.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "cpu_test_util.h"

namespace vessel::cpu {
namespace {

// 64-bit: mov ecx, 1000; loop: add eax, 1; call f; dec ecx; jnz loop; hlt;
// f: inc ebx; ret.
TEST(CpuChain, CountsStayExactAcrossChainedBlocks) {
  testing::TestBus bus;
  Cpu cpu{bus};
  testing::enter_long64(cpu, bus);
  bus.put(0x2000, {0xB9, 0xE8, 0x03, 0x00, 0x00,  // mov ecx, 1000
                   0x83, 0xC0, 0x01,              // loop: add eax, 1
                   0xE8, 0x05, 0x00, 0x00, 0x00,  // call f
                   0xFF, 0xC9,                    // dec ecx
                   0x75, 0xF4,                    // jnz loop
                   0xF4,                          // hlt
                   0xFF, 0xC3,                    // f: inc ebx
                   0xC3});                        // ret
  cpu.rip = 0x2000;
  cpu.gpr[kRsp] = 0x8000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRax], 1000u);
  EXPECT_EQ(cpu.gpr[kRbx], 1000u);
  EXPECT_EQ(cpu.gpr[kRsp], 0x8000u);
  EXPECT_EQ(cpu.rip, 0x2012u);
  // mov, 1000 x (add, call, inc, ret, dec, jnz), hlt.
  EXPECT_EQ(cpu.stats().instructions, 6002u);
  // Three blocks per iteration, nearly all entered through a link: the
  // executor looked up few (translated code's direct exits and returns are
  // not counted as blocks at all).
  EXPECT_LT(cpu.stats().blocks - cpu.stats().chain_hits, 100u);
}

// An interrupt source with a hint flag, raised by the second MMIO write.
class MmioInterrupts : public CpuInterruptSource {
 public:
  MmioInterrupts() { hint_ = &flag; }
  bool pending() override { return flag.load(); }
  std::optional<uint8_t> acknowledge() override {
    ++acks;
    flag = false;
    return 0x20;
  }
  std::atomic<bool> flag{false};
  int acks = 0;
};

class RaisingBus : public testing::TestBus {
 public:
  void mmio_write(uint64_t gpa, unsigned size, uint64_t value) override {
    TestBus::mmio_write(gpa, size, value);
    if (++writes == 2) intr.flag = true;
  }
  MmioInterrupts intr;
  int writes = 0;
};

// 64-bit, IF = 1: loop: inc ebx; test bl, 7; jnz loop; mov [rdi], eax (MMIO);
// jmp loop. The block is linked to itself long before the second MMIO store
// raises the interrupt, so the JMP after that store would chain straight
// back into the loop: chain_block must see the interrupt and hand over to
// the executor, which delivers it before EBX counts on (the handler halts).
TEST(CpuChain, AnInterruptRaisedInAChainedBlockIsTakenAtTheNextBoundary) {
  RaisingBus bus;
  Cpu cpu{bus};
  testing::enter_long64(cpu, bus);
  uint64_t handler = 0x3000;
  bus.put_obj<uint64_t>(testing::kIdt + 0x20 * 16,
                        (handler & 0xFFFF) | (uint64_t{0x18} << 16) | (uint64_t{0x8E} << 40));
  bus.put_obj<uint64_t>(testing::kIdt + 0x20 * 16 + 8, 0);
  cpu.idtr = {testing::kIdt, 256 * 16 - 1};
  bus.put(0x3000, {0xF4});
  bus.put(0x2000, {0xFF, 0xC3, 0xF6, 0xC3, 0x07, 0x75, 0xF9, 0x89, 0x07, 0xEB, 0xF5});
  cpu.rip = 0x2000;
  cpu.gpr[kRsp] = 0x8000;
  cpu.gpr[kRdi] = 0x10000000;  // past RAM: MMIO
  cpu.set_rflags(rflags::kFixed | rflags::kIf);
  cpu.set_interrupt_source(&bus.intr);
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(bus.intr.acks, 1);
  EXPECT_EQ(bus.writes, 2);
  EXPECT_EQ(cpu.gpr[kRbx], 16u);
  EXPECT_EQ(cpu.rip, 0x3001u);
  EXPECT_GT(cpu.stats().chain_hits, 0u);
}

// A stop request reaches a guest that only ever chains (jmp $).
TEST(CpuChain, StopReachesASelfLinkedBlock) {
  testing::TestBus bus;
  Cpu cpu{bus};
  testing::enter_long64(cpu, bus);
  bus.put(0x2000, {0xEB, 0xFE});
  cpu.rip = 0x2000;
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    stop = true;
  });
  EXPECT_EQ(cpu.run(stop), CpuExit::kStopped);
  stopper.join();
  EXPECT_EQ(cpu.rip, 0x2000u);
}

// PUSH and POP through their fast variants, then through the full ones: on a
// page the TLB does not map yet, at an odd stack pointer and across a page
// boundary, with the same results.
TEST(CpuChain, FastVariantsFallBackToTheFullHandlers) {
  testing::TestBus bus;
  Cpu cpu{bus};
  testing::enter_long64(cpu, bus);
  // push rax; push rbx; pop rcx; pop rdx; push ax; pop si; hlt
  bus.put(0x2000, {0x50, 0x53, 0x59, 0x5A, 0x66, 0x50, 0x66, 0x5E, 0xF4});
  for (uint64_t sp : {0x8000ull, 0x8001ull, 0x9003ull}) {
    cpu.rip = 0x2000;
    cpu.gpr[kRax] = 0x1122334455667788;
    cpu.gpr[kRbx] = 0x99AABBCCDDEEFF00;
    cpu.gpr[kRsp] = sp;
    ASSERT_EQ(testing::run(cpu), CpuExit::kHalted) << sp;
    EXPECT_EQ(cpu.gpr[kRcx], 0x99AABBCCDDEEFF00u) << sp;
    EXPECT_EQ(cpu.gpr[kRdx], 0x1122334455667788u) << sp;
    EXPECT_EQ(cpu.gpr[kRsi] & 0xFFFF, 0x7788u) << sp;
    EXPECT_EQ(cpu.gpr[kRsp], sp) << sp;
  }
}

}  // namespace
}  // namespace vessel::cpu

// REP STOS/MOVS done a page at a time (exec/string.cc, bulk): the same
// memory and registers as one iteration at a time, across page boundaries,
// with overlapping operands, and never past a page that holds cached code
// without invalidating it.
#include <gtest/gtest.h>

#include "cpu_test_util.h"

namespace vessel::cpu {
namespace {

constexpr uint64_t kCode = 0x20000;
constexpr uint64_t kBuf = 0x40000;

struct Machine {
  testing::TestBus bus;
  Cpu cpu{bus};
  Machine() {
    testing::enter_long64(cpu, bus);
    cpu.rip = kCode;
    cpu.gpr[kRsp] = 0x60000;
  }
};

TEST(CpuStringBulk, RepStosqAcrossPagesFillsExactlyAndAdvancesRegisters) {
  Machine m;
  m.bus.put(kCode, {0xF3, 0x48, 0xAB, 0xF4});  // rep stosq; hlt
  m.cpu.gpr[kRax] = 0x1122334455667788ull;
  m.cpu.gpr[kRdi] = kBuf + 0xFF8;  // one qword on the first page, then 1000 on the next two
  m.cpu.gpr[kRcx] = 1001;
  ASSERT_EQ(testing::run(m.cpu), CpuExit::kHalted);
  EXPECT_EQ(m.cpu.gpr[kRcx], 0u);
  EXPECT_EQ(m.cpu.gpr[kRdi], kBuf + 0xFF8 + 1001 * 8);
  for (uint64_t a = kBuf + 0xFF8; a < kBuf + 0xFF8 + 1001 * 8; a += 8)
    ASSERT_EQ(m.bus.get<uint64_t>(a), 0x1122334455667788ull) << std::hex << a;
  EXPECT_EQ(m.bus.get<uint64_t>(kBuf + 0xFF0), 0u);
  EXPECT_EQ(m.bus.get<uint64_t>(kBuf + 0xFF8 + 1001 * 8), 0u);
}

// A source just below the destination: each byte copies one written by the
// same instruction (a pattern repeats), as one iteration at a time does.
TEST(CpuStringBulk, OverlappingRepMovsbRepeatsThePattern) {
  Machine m;
  m.bus.put(kCode, {0xF3, 0xA4, 0xF4});  // rep movsb; hlt
  m.bus.put(kBuf, {1, 2, 3});
  m.cpu.gpr[kRsi] = kBuf;
  m.cpu.gpr[kRdi] = kBuf + 3;
  m.cpu.gpr[kRcx] = 300;
  ASSERT_EQ(testing::run(m.cpu), CpuExit::kHalted);
  for (unsigned k = 0; k < 303; ++k) ASSERT_EQ(m.bus.mem[kBuf + k], k % 3 + 1) << k;
  EXPECT_EQ(m.cpu.gpr[kRsi], kBuf + 300);
  EXPECT_EQ(m.cpu.gpr[kRdi], kBuf + 303);
}

TEST(CpuStringBulk, RepMovsqCopiesAcrossPages) {
  Machine m;
  m.bus.put(kCode, {0xF3, 0x48, 0xA5, 0xF4});  // rep movsq; hlt
  for (unsigned k = 0; k < 1024; ++k) m.bus.put_obj<uint64_t>(kBuf + k * 8, k * 0x0101010101ull);
  m.cpu.gpr[kRsi] = kBuf;
  m.cpu.gpr[kRdi] = kBuf + 0x3004;  // misaligned destination: pages split unlike the source's
  m.cpu.gpr[kRcx] = 1024;
  ASSERT_EQ(testing::run(m.cpu), CpuExit::kHalted);
  for (unsigned k = 0; k < 1024; ++k)
    ASSERT_EQ(m.bus.get<uint64_t>(kBuf + 0x3004 + k * 8), k * 0x0101010101ull) << k;
  EXPECT_EQ(m.cpu.gpr[kRcx], 0u);
}

// REP STOSB over the instructions after it: the block is dropped and the new
// bytes run (NOPs), as when the stores are one at a time.
TEST(CpuStringBulk, RepStosOverCachedCodeRunsTheNewCode) {
  Machine m;
  // rep stosb (AL = 0x90 over the next 16 bytes); 16 x "inc ebx" (FF C3) ... hlt
  m.bus.put(kCode, {0xF3, 0xAA});
  for (unsigned k = 0; k < 8; ++k) m.bus.put(kCode + 2 + k * 2, {0xFF, 0xC3});
  m.bus.put(kCode + 18, {0xFF, 0xC3, 0xF4});  // inc ebx; hlt
  m.cpu.gpr[kRax] = 0x90;
  m.cpu.gpr[kRdi] = kCode + 2;
  m.cpu.gpr[kRcx] = 16;
  ASSERT_EQ(testing::run(m.cpu), CpuExit::kHalted);
  EXPECT_EQ(m.cpu.gpr[kRbx], 1u);  // only the last INC ran
}

}  // namespace
}  // namespace vessel::cpu

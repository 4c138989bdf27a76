// Lazy flags: every arithmetic flag of each ALU family against hand-computed
// values, directly and through executed instructions.
#include <gtest/gtest.h>

#include "cpu/lazy_flags.h"
#include "cpu_test_util.h"

namespace vessel::cpu {
namespace {

using testing::TestBus;

struct Expect {
  bool cf, pf, af, zf, sf, of;
};

void check(const LazyFlags& f, Expect e) {
  EXPECT_EQ(f.cf(), e.cf) << "CF";
  EXPECT_EQ(f.pf(), e.pf) << "PF";
  EXPECT_EQ(f.af(), e.af) << "AF";
  EXPECT_EQ(f.zf(), e.zf) << "ZF";
  EXPECT_EQ(f.sf(), e.sf) << "SF";
  EXPECT_EQ(f.of(), e.of) << "OF";
  uint64_t bits = (e.cf ? rflags::kCf : 0) | (e.pf ? rflags::kPf : 0) | (e.af ? rflags::kAf : 0) |
                  (e.zf ? rflags::kZf : 0) | (e.sf ? rflags::kSf : 0) | (e.of ? rflags::kOf : 0);
  EXPECT_EQ(f.get(), bits);
}

TEST(CpuLazyFlags, Add) {
  LazyFlags f;
  f.set_add(0x7F, 0x01, 0x80, 1);  // signed overflow, half carry
  check(f, {false, false, true, false, true, true});
  f.set_add(0xFF, 0x01, 0x00, 1);  // carry, zero
  check(f, {true, true, true, true, false, false});
  f.set_add(0xFFFFFFFF, 1, 0, 4);
  check(f, {true, true, true, true, false, false});
  f.set_add(0x7FFFFFFFFFFFFFFFull, 1, 0x8000000000000000ull, 8);
  check(f, {false, true, true, false, true, true});
  f.set_add(0x1234, 0x1111, 0x2345, 2);  // 0x45: three bits set, odd parity
  check(f, {false, false, false, false, false, false});
}

TEST(CpuLazyFlags, AdcCarryIn) {
  LazyFlags f;
  f.set_add(0xFF, 0x00, 0x00, 1);  // 0xFF + 0 + CF(1)
  check(f, {true, true, true, true, false, false});
  f.set_add(0x7F, 0x00, 0x80, 1);  // 0x7F + 0 + 1: overflow
  check(f, {false, false, true, false, true, true});
}

TEST(CpuLazyFlags, SubAndSbb) {
  LazyFlags f;
  f.set_sub(0x00, 0x01, 0xFF, 1);  // borrow
  check(f, {true, true, true, false, true, false});
  f.set_sub(0x80, 0x01, 0x7F, 1);  // signed overflow
  check(f, {false, false, true, false, false, true});
  f.set_sub(0x10, 0x10, 0x00, 1);
  check(f, {false, true, false, true, false, false});
  f.set_sub(0x00, 0x00, 0xFF, 1);  // SBB 0 - 0 - CF(1)
  check(f, {true, true, true, false, true, false});
  f.set_sub(0, 1, 0xFFFFFFFFFFFFFFFFull, 8);
  check(f, {true, true, true, false, true, false});
}

TEST(CpuLazyFlags, Logic) {
  LazyFlags f;
  f.set_logic(0xF0 & 0x0F, 1);
  check(f, {false, true, false, true, false, false});
  f.set_logic(0x80000001, 4);
  check(f, {false, false, false, false, true, false});
}

TEST(CpuLazyFlags, IncDecKeepCarry) {
  LazyFlags f;
  f.put(rflags::kCf);
  f.set_keep_cf(0x80, (0x7F & 1) | ((0x7F | 1) & ~0x80ull), 1);  // INC 0x7F
  check(f, {true, false, true, false, true, true});
  f.put(0);
  f.set_keep_cf(0x00, (0xFF & 1) | ((0xFF | 1) & ~0x00ull), 1);  // INC 0xFF
  check(f, {false, true, true, true, false, false});
  f.put(rflags::kCf);
  uint64_t a = 0x80, r = 0x7F;
  f.set_keep_cf(r, (~a & 1) | ((~a | 1) & r), 1);  // DEC 0x80
  check(f, {true, false, true, false, false, true});
}

TEST(CpuLazyFlags, ExplicitAndPut) {
  LazyFlags f;
  for (unsigned size : {1u, 2u, 4u, 8u}) {
    for (int cf = 0; cf < 2; ++cf) {
      for (int of = 0; of < 2; ++of) {
        f.set_explicit(1, size, cf, of, true);
        EXPECT_EQ(f.cf(), cf == 1);
        EXPECT_EQ(f.of(), of == 1);
        EXPECT_TRUE(f.af());
        EXPECT_FALSE(f.zf());
      }
    }
  }
  f.put(rflags::kZf | rflags::kOf | rflags::kTf);
  EXPECT_EQ(f.get(), rflags::kZf | rflags::kOf);
  f.assign(rflags::kCf, true);
  EXPECT_EQ(f.get(), rflags::kZf | rflags::kOf | rflags::kCf);
}

// Runs `code` (32-bit protected mode) followed by HLT; returns the CPU's RFLAGS.
class CpuFlagsExec : public ::testing::Test {
 protected:
  uint64_t run32(std::initializer_list<uint8_t> code) {
    testing::enter_protected32(cpu, bus);
    cpu.block_cache().flush();  // the host rewrites the code behind the CPU's back
    bus.put(0x2000, code);
    bus.put(0x2000 + code.size(), {0xF4});
    cpu.rip = 0x2000;
    EXPECT_EQ(testing::run(cpu), CpuExit::kHalted);
    return cpu.get_rflags();
  }
  TestBus bus;
  Cpu cpu{bus};
};

TEST_F(CpuFlagsExec, NegAndShifts) {
  // mov al, 0x80; neg al -> 0x80, CF = 1, OF = 1
  uint64_t f = run32({0xB0, 0x80, 0xF6, 0xD8});
  EXPECT_EQ(cpu.gpr[kRax] & 0xFF, 0x80u);
  EXPECT_TRUE(f & rflags::kCf);
  EXPECT_TRUE(f & rflags::kOf);
  // mov eax, 0x80000001; shl eax, 1 -> 2, CF = 1, OF = 1 (MSB != CF? MSB 0, CF 1)
  f = run32({0xB8, 0x01, 0x00, 0x00, 0x80, 0xD1, 0xE0});
  EXPECT_EQ(cpu.gpr[kRax], 2u);
  EXPECT_TRUE(f & rflags::kCf);
  EXPECT_TRUE(f & rflags::kOf);
  // mov eax, 0x80000000; sar eax, 31 -> 0xFFFFFFFF, CF = 0 (bit 30)
  f = run32({0xB8, 0x00, 0x00, 0x00, 0x80, 0xC1, 0xF8, 31});
  EXPECT_EQ(cpu.gpr[kRax], 0xFFFFFFFFu);
  EXPECT_FALSE(f & rflags::kCf);
  EXPECT_TRUE(f & rflags::kSf);
  // mov eax, 3; shr eax, 1 -> 1, CF = 1, OF = 0
  f = run32({0xB8, 0x03, 0x00, 0x00, 0x00, 0xD1, 0xE8});
  EXPECT_EQ(cpu.gpr[kRax], 1u);
  EXPECT_TRUE(f & rflags::kCf);
  EXPECT_FALSE(f & rflags::kOf);
}

TEST_F(CpuFlagsExec, RotatesKeepOtherFlags) {
  // xor eax, eax (ZF = 1); mov al, 0x81; rol al, 1 -> 0x03, CF = 1; ZF stays 1
  uint64_t f = run32({0x31, 0xC0, 0xB0, 0x81, 0xD0, 0xC0});
  EXPECT_EQ(cpu.gpr[kRax] & 0xFF, 0x03u);
  EXPECT_TRUE(f & rflags::kCf);
  EXPECT_TRUE(f & rflags::kZf);
  // stc; mov al, 0x80; rcl al, 1 -> 0x01, CF = 1
  f = run32({0xF9, 0xB0, 0x80, 0xD0, 0xD0});
  EXPECT_EQ(cpu.gpr[kRax] & 0xFF, 0x01u);
  EXPECT_TRUE(f & rflags::kCf);
  // clc; mov al, 0x01; rcr al, 1 -> 0x00, CF = 1
  f = run32({0xF8, 0xB0, 0x01, 0xD0, 0xD8});
  EXPECT_EQ(cpu.gpr[kRax] & 0xFF, 0x00u);
  EXPECT_TRUE(f & rflags::kCf);
  // mov al, 0x01; ror al, 1 -> 0x80, CF = 1, OF = 1 (bits 7 and 6 differ)
  f = run32({0xB0, 0x01, 0xD0, 0xC8});
  EXPECT_EQ(cpu.gpr[kRax] & 0xFF, 0x80u);
  EXPECT_TRUE(f & rflags::kCf);
  EXPECT_TRUE(f & rflags::kOf);
}

TEST_F(CpuFlagsExec, AdcSbbChain) {
  // mov eax, 0xFFFFFFFF; add eax, 1 (CF = 1); mov ebx, 0; adc ebx, 0 -> 1
  run32({0xB8, 0xFF, 0xFF, 0xFF, 0xFF, 0x83, 0xC0, 0x01, 0xBB, 0, 0, 0, 0, 0x83, 0xD3, 0x00});
  EXPECT_EQ(cpu.gpr[kRax], 0u);
  EXPECT_EQ(cpu.gpr[kRbx], 1u);
  // stc; mov ecx, 5; sbb ecx, 2 -> 2
  run32({0xF9, 0xB9, 5, 0, 0, 0, 0x83, 0xD9, 0x02});
  EXPECT_EQ(cpu.gpr[kRcx], 2u);
}

TEST_F(CpuFlagsExec, MulDiv) {
  // mov eax, 0x10000; mov ecx, 0x10000; mul ecx -> EDX:EAX = 1:0, CF = OF = 1
  uint64_t f = run32({0xB8, 0, 0, 1, 0, 0xB9, 0, 0, 1, 0, 0xF7, 0xE1});
  EXPECT_EQ(cpu.gpr[kRax], 0u);
  EXPECT_EQ(cpu.gpr[kRdx], 1u);
  EXPECT_TRUE(f & rflags::kCf);
  EXPECT_TRUE(f & rflags::kOf);
  // mov eax, -7; cdq; mov ecx, 2; idiv ecx -> -3 rem -1
  run32({0xB8, 0xF9, 0xFF, 0xFF, 0xFF, 0x99, 0xB9, 2, 0, 0, 0, 0xF7, 0xF9});
  EXPECT_EQ(cpu.gpr[kRax], 0xFFFFFFFDu);
  EXPECT_EQ(cpu.gpr[kRdx], 0xFFFFFFFFu);
}

}  // namespace
}  // namespace vessel::cpu

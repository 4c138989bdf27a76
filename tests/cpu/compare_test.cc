// The comparator: masks exactly the undefined flags and register, and names
// every differing field.
#include "compare.h"

#include <gtest/gtest.h>

namespace vessel::difftest {
namespace {

ExecResult sample() {
  ExecResult r;
  r.state.gpr[kRax] = 0x1234;
  r.state.rflags = 0x2 | kFlagCF | kFlagZF;
  return r;
}

TEST(difftest_compare, equal_results_give_no_diff) {
  EXPECT_EQ(compare_results(sample(), sample(), Masks{}), "");
}

TEST(difftest_compare, undefined_flags_are_ignored_and_defined_ones_reported) {
  ExecResult a = sample(), b = sample();
  b.state.rflags ^= kFlagAF | kFlagCF;
  EXPECT_EQ(compare_results(a, b, Masks{kFlagAF | kFlagCF, -1}), "");
  std::string d = compare_results(a, b, Masks{kFlagAF, -1});
  EXPECT_NE(d.find("flags CF native=[CF ZF] emulated=[ZF]"), std::string::npos) << d;
  EXPECT_EQ(d.find("AF"), std::string::npos) << d;
  // Bits outside the user flags (IF, RF, the reserved bit) never count.
  b = sample();
  b.state.rflags |= (1u << 9) | (1u << 16);
  EXPECT_EQ(compare_results(a, b, Masks{}), "");
}

TEST(difftest_compare, undefined_register_is_skipped_others_are_not) {
  ExecResult a = sample(), b = sample();
  b.state.gpr[kRax] = 7;
  b.state.gpr[kR15] = 9;
  std::string d = compare_results(a, b, Masks{0, kRax});
  EXPECT_EQ(d.find("rax"), std::string::npos) << d;
  EXPECT_NE(d.find("r15 native=0x0 emulated=0x9"), std::string::npos) << d;
}

TEST(difftest_compare, every_kind_of_difference_is_named) {
  ExecResult a = sample(), b = sample();
  b.vector = kVectorGP;
  b.state.rip += 3;
  b.state.xmm[15].lo = 1;
  b.state.data[10] = 0xAB;
  b.state.data[20] = 0xCD;
  std::string d = compare_results(a, b, Masks{});
  EXPECT_NE(d.find("exception native=none emulated=#GP"), std::string::npos) << d;
  EXPECT_NE(d.find("rip native="), std::string::npos) << d;
  EXPECT_NE(d.find("xmm15 native="), std::string::npos) << d;
  EXPECT_NE(d.find("memory: 2 bytes differ, first at 0x1000000a"), std::string::npos) << d;
}

TEST(difftest_compare, renders_bytes_and_disassembly) {
  const uint8_t add[] = {0x01, 0xD8};
  EXPECT_EQ(hex_bytes(add), "01 d8");
  EXPECT_EQ(disassemble(add), "add eax, ebx");
  const uint8_t junk[] = {0x0F};
  EXPECT_EQ(disassemble(junk), "(undecodable)");
}

}  // namespace
}  // namespace vessel::difftest

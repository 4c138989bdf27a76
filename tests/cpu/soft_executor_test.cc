// The soft CPU adapter against the host on hand-picked cases the catalogue
// does not generate: CPL 3 privilege faults (HLT, CLI, MOV CR, IN/OUTS),
// unmapped and non-canonical accesses, a write to the code page, a long REP
// and one that faults midway, several instructions in a row, #DE; XMM state
// passes through untouched.
#include "soft_executor.h"

#include <gtest/gtest.h>

#include <vector>

#include "compare.h"
#include "native_executor.h"

namespace vessel::difftest {
namespace {

UserState base_state() {
  UserState s;
  for (int i = 0; i < 16; ++i) s.gpr[i] = 0x0101010101010101ull * static_cast<uint64_t>(i);
  s.gpr[kRsp] = kDataAddr + 0x1800;
  s.gpr[kRsi] = kDataAddr + 0x100;
  s.gpr[kRdi] = kDataAddr + 0x1000;
  for (int i = 0; i < 16; ++i) s.xmm[i] = Xmm{0x100u + static_cast<uint64_t>(i), 0x55u};
  for (size_t i = 0; i < kDataSize; ++i) s.data[i] = static_cast<uint8_t>(i * 13);
  return s;
}

struct Case {
  const char* what;
  std::vector<uint8_t> code;
  int vector;  // what the host does (checked too, so the case means what it says)
  void (*setup)(UserState&) = nullptr;
};

class SoftExecutorVsHost : public ::testing::TestWithParam<Case> {};

TEST_P(SoftExecutorVsHost, Agrees) {
  const Case& c = GetParam();
  UserState in = base_state();
  if (c.setup) c.setup(in);
  NativeExecutor native;
  SoftCpuExecutor soft;
  auto want = native.run(c.code, in);
  ASSERT_TRUE(want.ok()) << want.error().message;
  auto got = soft.run(c.code, in);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(want->vector, c.vector) << vector_name(want->vector);
  EXPECT_EQ(compare_results(*want, *got, Masks{}), "") << disassemble(c.code);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SoftExecutorVsHost,
    ::testing::Values(
        Case{"hlt", {0xF4}, kVectorGP}, Case{"cli", {0xFA}, kVectorGP},
        Case{"mov_cr", {0x0F, 0x20, 0xC0}, kVectorGP}, Case{"in", {0xE4, 0x60}, kVectorGP},
        Case{"outsb", {0x6E}, kVectorGP}, Case{"ud2", {0x0F, 0x0B}, kVectorUD},
        Case{"lock_add_reg", {0xF0, 0x01, 0xC8}, kVectorUD},
        Case{"unmapped_read",
             {0x48, 0x8B, 0x03},
             kVectorPF,
             [](UserState& s) { s.gpr[kRbx] = kDataAddr + kDataSize; }},
        Case{"write_to_code",
             {0x48, 0x89, 0x03},
             kNoException,
             [](UserState& s) { s.gpr[kRbx] = kCodeAddr; }},
        Case{"noncanonical_read",
             {0x48, 0x8B, 0x03},
             kVectorGP,
             [](UserState& s) { s.gpr[kRbx] = 0x0000800000000000ull; }},
        Case{"noncanonical_push",
             {0x50},
             kVectorSS,
             [](UserState& s) { s.gpr[kRsp] = 0x0000800000000008ull; }},
        Case{"rep_movsb_long",
             {0xF3, 0xA4},
             kNoException,
             [](UserState& s) { s.gpr[kRcx] = 0xE00; }},
        Case{"rep_stosq_faults_midway",
             {0xF3, 0x48, 0xAB},
             kVectorPF,
             [](UserState& s) { s.gpr[kRcx] = 0x300; }},
        Case{"three_instructions",
             {0x48, 0x01, 0xD8, 0x48, 0xF7, 0xE1, 0x50},  // add rax, rbx; mul rcx; push rax
             kNoException},
        Case{"int3", {0xCC}, kVectorBP}, Case{"int3_after_add", {0x01, 0xD8, 0xCC}, kVectorBP},
        Case{"into_is_invalid_in_64_bit_mode",
             {0xCE},
             kVectorUD,
             [](UserState& s) { s.rflags |= kFlagOF; }},
        Case{"int_0x81_through_a_dpl0_gate", {0xCD, 0x81}, kVectorGP},
        Case{"div_by_zero", {0xF7, 0xF1}, kVectorDE, [](UserState& s) { s.gpr[kRcx] = 0; }}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.what); });

}  // namespace
}  // namespace vessel::difftest

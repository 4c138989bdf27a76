// Known answers from the native executor: results, flags, exceptions, stack,
// memory, XMM, and recovery from a case that never finishes.
#include "native_executor.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace vessel::difftest {
namespace {

UserState base_state() {
  UserState s;
  for (int i = 0; i < 16; ++i) s.gpr[i] = 0x1111111111111111ull * static_cast<uint64_t>(i);
  s.gpr[kRsp] = kDataAddr + 0x1800;
  s.rflags = 0x2;
  for (int i = 0; i < 16; ++i)
    s.xmm[i] = Xmm{0x100u + static_cast<uint64_t>(i), 0x200u + static_cast<uint64_t>(i)};
  for (size_t i = 0; i < kDataSize; ++i) s.data[i] = static_cast<uint8_t>(i * 7);
  return s;
}

ExecResult run_ok(NativeExecutor& ex, std::vector<uint8_t> code, const UserState& in) {
  auto r = ex.run(code, in);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : ExecResult{};
}

TEST(difftest_native, add_gives_known_result_and_flags) {
  NativeExecutor ex;
  UserState in = base_state();
  in.gpr[kRax] = 0x12345678FFFFFFFFull;
  in.gpr[kRbx] = 1;
  in.rflags = 0x2 | kFlagSF | kFlagOF;
  ExecResult r = run_ok(ex, {0x01, 0xD8}, in);  // add eax, ebx
  EXPECT_EQ(r.vector, kNoException);
  EXPECT_EQ(r.state.gpr[kRax], 0u);  // a 32-bit result clears the upper half
  EXPECT_EQ(r.state.rflags & kUserFlags, kFlagCF | kFlagPF | kFlagAF | kFlagZF);
  EXPECT_EQ(r.state.rip, kInstrAddr + 2);
  for (int i = 1; i < 16; ++i) EXPECT_EQ(r.state.gpr[i], in.gpr[i]) << gpr_name(i);
  EXPECT_EQ(r.state.xmm, in.xmm);
  EXPECT_EQ(r.state.data, in.data);
}

TEST(difftest_native, input_flags_reach_the_instruction_and_df_comes_back) {
  NativeExecutor ex;
  UserState in = base_state();
  in.rflags = 0x2 | kFlagCF | kFlagZF;
  in.gpr[kRax] = 0;
  ExecResult r = run_ok(ex, {0x9F, 0xFD}, in);        // lahf; std
  EXPECT_EQ((r.state.gpr[kRax] >> 8) & 0xFF, 0x43u);  // ZF | bit 1 | CF
  EXPECT_EQ(r.state.rflags & kUserFlags, kFlagCF | kFlagZF | kFlagDF);
}

TEST(difftest_native, divide_by_zero_is_de_at_the_instruction) {
  NativeExecutor ex;
  UserState in = base_state();
  in.gpr[kRcx] = 0;
  ExecResult r = run_ok(ex, {0xF7, 0xF1}, in);  // div ecx
  EXPECT_EQ(r.vector, kVectorDE);
  EXPECT_EQ(r.state.rip, kInstrAddr);
  EXPECT_EQ(r.state.gpr, in.gpr);
}

TEST(difftest_native, ud2_int3_and_bad_addresses) {
  NativeExecutor ex;
  UserState in = base_state();
  ExecResult ud = run_ok(ex, {0x0F, 0x0B}, in);
  EXPECT_EQ(ud.vector, kVectorUD);
  EXPECT_EQ(ud.state.rip, kInstrAddr);
  ExecResult bp = run_ok(ex, {0xCC}, in);
  EXPECT_EQ(bp.vector, kVectorBP);
  EXPECT_EQ(bp.state.rip, kInstrAddr + 1);             // a trap: after the instruction
  in.gpr[kRbx] = 0x50000000;                           // canonical, unmapped
  ExecResult pf = run_ok(ex, {0x48, 0x8B, 0x03}, in);  // mov rax, [rbx]
  EXPECT_EQ(pf.vector, kVectorPF);
  EXPECT_EQ(pf.state.gpr[kRax], in.gpr[kRax]);
  in.gpr[kRbx] = 0x8000000000000000ull;  // non-canonical
  EXPECT_EQ(run_ok(ex, {0x48, 0x8B, 0x03}, in).vector, kVectorGP);
  // After faults the worker still runs ordinary cases.
  EXPECT_EQ(run_ok(ex, {0x90}, base_state()).vector, kNoException);
}

TEST(difftest_native, push_pop_use_the_stack_in_the_data_area) {
  NativeExecutor ex;
  UserState in = base_state();
  in.gpr[kRax] = 0x0123456789ABCDEFull;
  ExecResult r = run_ok(ex, {0x50, 0x59}, in);  // push rax; pop rcx
  EXPECT_EQ(r.state.gpr[kRcx], in.gpr[kRax]);
  EXPECT_EQ(r.state.gpr[kRsp], in.gpr[kRsp]);
  uint64_t pushed;
  memcpy(&pushed, &r.state.data[0x1800 - 8], 8);
  EXPECT_EQ(pushed, in.gpr[kRax]);
}

TEST(difftest_native, rep_movsb_copies_within_the_data_area) {
  NativeExecutor ex;
  UserState in = base_state();
  in.gpr[kRsi] = kDataAddr + 0x100;
  in.gpr[kRdi] = kDataAddr + 0x1000;
  in.gpr[kRcx] = 5;
  ExecResult r = run_ok(ex, {0xF3, 0xA4}, in);
  EXPECT_EQ(r.state.gpr[kRcx], 0u);
  EXPECT_EQ(r.state.gpr[kRdi], kDataAddr + 0x1005);
  EXPECT_EQ(0, memcmp(&r.state.data[0x1000], &in.data[0x100], 5));
  EXPECT_EQ(r.state.data[0x1005], in.data[0x1005]);
}

TEST(difftest_native, address_size_prefix_ignores_the_upper_half) {
  NativeExecutor ex;
  UserState in = base_state();
  in.gpr[kRbx] = 0xDEADBEEF00000000ull | (kDataAddr + 0x40);
  in.gpr[kRax] = 1;
  uint32_t v = 0x41;
  memcpy(&in.data[0x40], &v, 4);
  ExecResult r = run_ok(ex, {0x67, 0x03, 0x03}, in);  // add eax, [ebx]
  EXPECT_EQ(r.vector, kNoException);
  EXPECT_EQ(r.state.gpr[kRax], 0x42u);
}

TEST(difftest_native, xmm_registers_round_trip) {
  NativeExecutor ex;
  UserState in = base_state();
  ExecResult r = run_ok(ex, {0x66, 0x0F, 0xEF, 0xC1}, in);  // pxor xmm0, xmm1
  EXPECT_EQ(r.state.xmm[0], (Xmm{0x100 ^ 0x101, 0x200 ^ 0x201}));
  for (int i = 1; i < 16; ++i) EXPECT_EQ(r.state.xmm[i], in.xmm[i]);
}

TEST(difftest_native, endless_case_is_an_error_and_the_next_case_runs) {
  NativeExecutor ex(std::chrono::milliseconds(200));
  auto r = ex.run(std::vector<uint8_t>{0xEB, 0xFE}, base_state());  // jmp $
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("did not finish"), std::string::npos);
  EXPECT_EQ(run_ok(ex, {0x90}, base_state()).vector, kNoException);
}

TEST(difftest_native, rejects_bad_requests) {
  NativeExecutor ex;
  EXPECT_FALSE(ex.run(std::vector<uint8_t>{}, base_state()).ok());
  EXPECT_FALSE(ex.run(std::vector<uint8_t>(kMaxCodeBytes + 1, 0x90), base_state()).ok());
  UserState moved = base_state();
  moved.rip = kInstrAddr + 1;
  EXPECT_FALSE(ex.run(std::vector<uint8_t>{0x90}, moved).ok());
}

}  // namespace
}  // namespace vessel::difftest

// The differential driver checked without an emulator: the host against
// itself (must agree on every case), against executors that are wrong on
// purpose (must be caught), and the SDM masks (must hide exactly what is
// undefined).
#include "differential.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <string_view>

#include "compare.h"
#include "form_catalog.h"
#include "native_executor.h"
#include "state_gen.h"

namespace vessel::difftest {
namespace {

// VESSEL_DIFFTEST_SEED overrides the default seed, to reproduce a reported run.
uint64_t test_seed() {
  const char* env = std::getenv("VESSEL_DIFFTEST_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 0) : 0x5EED0001;
}

// VESSEL_DIFFTEST_STATES overrides the states per form of the self-check (a
// longer soak run); the default keeps the binary within a few seconds.
size_t selfcheck_states() {
  const char* env = std::getenv("VESSEL_DIFFTEST_STATES");
  return env != nullptr ? std::strtoull(env, nullptr, 0) : 16;
}

const Catalogue& catalogue() {
  static const Catalogue cat = build_catalogue(detect_host_features());
  return cat;
}

std::vector<Form> forms_named(std::string_view prefix) {
  std::vector<Form> out;
  for (const Form& f : catalogue().forms) {
    if (std::string_view(f.name).substr(0, prefix.size()) == prefix) out.push_back(f);
  }
  return out;
}

// Runs natively, then changes the result with `corrupt`.
class CorruptingExecutor : public EmulatedExecutor {
 public:
  explicit CorruptingExecutor(std::function<void(ExecResult&)> corrupt)
      : corrupt_(std::move(corrupt)) {}
  Expected<ExecResult> run(std::span<const uint8_t> code, const UserState& in) override {
    auto r = native_.run(code, in);
    if (r.ok()) corrupt_(*r);
    return r;
  }

 private:
  NativeExecutor native_;
  std::function<void(ExecResult&)> corrupt_;
};

DiffOptions quiet() {
  DiffOptions o;
  o.print = false;
  return o;
}

TEST(difftest, catalogue_encodes_every_form) {
  const Catalogue& cat = catalogue();
  for (const std::string& e : cat.errors) ADD_FAILURE() << e;
  std::map<std::string, int> per_mnemonic;
  for (const Form& f : cat.forms) per_mnemonic[f.name.substr(0, f.name.find(' '))]++;
  std::printf("catalogue: %zu forms, %zu mnemonics\n", cat.forms.size(), per_mnemonic.size());
  if (std::getenv("VESSEL_DIFFTEST_LIST") != nullptr) {  // list the forms with sample bytes
    for (const Form& f : cat.forms) {
      auto bytes = encode_form(f, 5);
      if (bytes)
        std::printf("%-28s %-32s %s\n", f.name.c_str(), hex_bytes(*bytes).c_str(),
                    disassemble(*bytes).c_str());
    }
  }
  EXPECT_GT(cat.forms.size(), 1000u);
  for (const Form& f : cat.forms) {
    bool needs_gpr =
        f.hint == Hint::kBitOffset || (f.hint == Hint::kCompareExchange && !f.mem_dest_compare);
    if (needs_gpr) {
      EXPECT_TRUE(f.hint_gpr >= 0 && f.hint_gpr < 16) << f.name;
    }
    if (f.rule.dest_undefined_if_zf && f.request.operands[0].type == ZYDIS_OPERAND_TYPE_REGISTER) {
      EXPECT_TRUE(f.dest_gpr >= 0 && f.dest_gpr < 16) << f.name;
    }
  }
  for (const char* m :
       {"add",    "adc", "sbb",     "imul",      "div",     "idiv",   "rcl",       "rcr",
        "shld",   "bts", "bsf",     "bswap",     "cmpxchg", "xadd",   "xchg",      "movzx",
        "movsxd", "lea", "cmovnle", "setb",      "cbw",     "cqo",    "rep",       "repne",
        "clc",    "cmc", "addps",   "cvttsd2si", "movdqa",  "pshufd", "maskmovdqu"}) {
    EXPECT_GT(per_mnemonic[m], 0) << m;
  }
}

TEST(difftest, native_selfcheck) {
  NativeExecutor second;
  size_t states = selfcheck_states();
  auto counts = run_differential(second, catalogue().forms, states, test_seed());
  ASSERT_TRUE(counts.ok()) << counts.error().message;
  EXPECT_EQ(counts->forms, catalogue().forms.size());
  EXPECT_EQ(counts->states, catalogue().forms.size() * states);
  EXPECT_EQ(counts->mismatches, 0u);
  EXPECT_EQ(counts->errors, 0u);
}

TEST(difftest, catches_a_flipped_carry_but_not_where_cf_is_undefined) {
  auto flip_cf = [](ExecResult& r) { r.state.rflags ^= kFlagCF; };
  CorruptingExecutor wrong(flip_cf);
  std::vector<Form> adds = forms_named("add ");
  ASSERT_FALSE(adds.empty());
  auto counts = run_differential(wrong, adds, 4, test_seed(), quiet());
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->mismatches, counts->states);  // every ADD defines CF
  EXPECT_EQ(counts->mismatching_forms.size(), adds.size());
  ASSERT_FALSE(counts->reports.empty());
  EXPECT_NE(counts->reports[0].find("flags CF"), std::string::npos) << counts->reports[0];
  EXPECT_NE(counts->reports[0].find("MISMATCH add "), std::string::npos) << counts->reports[0];

  std::vector<Form> divs = forms_named("div ");
  auto div_counts = run_differential(wrong, divs, 8, test_seed(), quiet());
  ASSERT_TRUE(div_counts.ok());
  EXPECT_EQ(div_counts->mismatches, 0u);  // DIV leaves CF undefined
}

TEST(difftest, catches_wrong_registers_memory_rip_and_vectors) {
  std::vector<Form> forms = forms_named("xadd ");
  ASSERT_FALSE(forms.empty());
  auto gpr = [](ExecResult& r) { r.state.gpr[kR15] += 1; };
  auto mem = [](ExecResult& r) { r.state.data[0x123] ^= 0x40; };
  auto rip = [](ExecResult& r) { r.state.rip += 1; };
  auto vec = [](ExecResult& r) { r.vector = r.vector == kNoException ? kVectorUD : kNoException; };
  auto xmm = [](ExecResult& r) { r.state.xmm[7].hi ^= 1; };
  CorruptingExecutor a(gpr), b(mem), c(rip), d(vec), e(xmm);
  EmulatedExecutor* wrong[] = {&a, &b, &c, &d, &e};
  const char* expect[] = {"r15 native=", "memory: 1 bytes differ",
                          "rip native=", "exception native=", "xmm7 native="};
  for (int i = 0; i < 5; ++i) {
    auto counts = run_differential(*wrong[i], forms, 2, test_seed(), quiet());
    ASSERT_TRUE(counts.ok());
    EXPECT_EQ(counts->mismatches, counts->states) << expect[i];
    ASSERT_FALSE(counts->reports.empty());
    EXPECT_NE(counts->reports[0].find(expect[i]), std::string::npos) << counts->reports[0];
  }
}

TEST(difftest, bsf_destination_is_ignored_only_for_a_zero_source) {
  size_t checked = 0;
  for (const Form& f : forms_named("bsf ")) {
    if (f.dest_gpr < 0) continue;
    int dest = f.dest_gpr;
    // Changing the destination when the source was zero (ZF=1) must go
    // unnoticed; changing it otherwise must be caught. Each case is one or
    // the other.
    CorruptingExecutor when_zero([dest](ExecResult& r) {
      if (r.state.rflags & kFlagZF) r.state.gpr[dest] ^= 1;
    });
    CorruptingExecutor when_nonzero([dest](ExecResult& r) {
      if (!(r.state.rflags & kFlagZF)) r.state.gpr[dest] ^= 1;
    });
    std::vector<Form> one{f};
    auto lenient = run_differential(when_zero, one, 32, test_seed(), quiet());
    auto strict = run_differential(when_nonzero, one, 32, test_seed(), quiet());
    ASSERT_TRUE(lenient.ok() && strict.ok());
    EXPECT_EQ(lenient->mismatches, 0u) << f.name;
    EXPECT_GT(strict->mismatches, 0u) << f.name;
    EXPECT_LT(strict->mismatches, strict->states) << f.name << ": no zero source generated";
    ++checked;
  }
  EXPECT_GE(checked, 6u);
}

TEST(difftest, undefined_flags_follow_the_shift_count) {
  auto find = [](std::string_view name) {
    for (const Form& f : catalogue().forms) {
      if (f.name == name) return f;
    }
    ADD_FAILURE() << "no form " << name;
    return Form{};
  };
  UserState in;
  Form shl8 = find("shl r8,cl v0");
  in.gpr[kRcx] = 0;
  EXPECT_EQ(undefined_flags(shl8, in, 0), 0u);  // count 0: flags unaffected
  in.gpr[kRcx] = 0x21;                          // masked to 1
  EXPECT_EQ(undefined_flags(shl8, in, 0), kFlagAF);
  in.gpr[kRcx] = 8;  // >= operand size: CF too
  EXPECT_EQ(undefined_flags(shl8, in, 0), kFlagAF | kFlagOF | kFlagCF);
  Form sar64 = find("sar r64,imm8 v1");
  EXPECT_EQ(undefined_flags(sar64, in, 64), 0u);  // masked to 0
  EXPECT_EQ(undefined_flags(sar64, in, 63), kFlagAF | kFlagOF);
  Form rcl = find("rcl r32,1 v0");
  EXPECT_EQ(undefined_flags(rcl, in, 0), 0u);  // rotate by 1: OF defined
  Form rol = find("rol r16,imm8 v0");
  EXPECT_EQ(undefined_flags(rol, in, 2), kFlagOF);
  Form mul = find("mul r32 v0");
  EXPECT_EQ(undefined_flags(mul, in, 0), kFlagSF | kFlagZF | kFlagAF | kFlagPF);
  Form bsr = find("bsr r64,r64 v1");
  EXPECT_TRUE(bsr.rule.dest_undefined_if_zf);
  EXPECT_EQ(bsr.dest_gpr, kR9);
}

TEST(difftest, cases_are_reproducible_from_the_seed) {
  const Form& f = catalogue().forms[0];
  Rng a(42), b(42), c(43);
  TestCase x = make_case(f, a), y = make_case(f, b), z = make_case(f, c);
  EXPECT_EQ(x.state.gpr, y.state.gpr);
  EXPECT_EQ(x.state.data, y.state.data);
  EXPECT_EQ(x.imm, y.imm);
  EXPECT_NE(x.state.gpr, z.state.gpr);
}

}  // namespace
}  // namespace vessel::difftest

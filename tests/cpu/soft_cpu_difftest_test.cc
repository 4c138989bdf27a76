// The software CPU against the host CPU: every form of the catalogue, from a
// fixed seed and a bounded number of states per form (VESSEL_DIFFTEST_SEED and
// VESSEL_SOFT_DIFFTEST_STATES change them). Any mismatch fails the test and
// prints the form, the bytes, the inputs and every differing field.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "differential.h"
#include "form_catalog.h"
#include "soft_executor.h"

namespace vessel::difftest {
namespace {

uint64_t seed() {
  const char* env = std::getenv("VESSEL_DIFFTEST_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 0) : 0x5EED0001;
}

size_t states_per_form() {
  const char* env = std::getenv("VESSEL_SOFT_DIFFTEST_STATES");
  return env != nullptr ? std::strtoull(env, nullptr, 0) : 48;
}

// VESSEL_SOFT_DIFFTEST_FORMS: only the forms whose name starts with it (to
// look at one form's mismatches).
std::vector<Form> selected(std::vector<Form> forms) {
  const char* env = std::getenv("VESSEL_SOFT_DIFFTEST_FORMS");
  if (env == nullptr) return forms;
  std::erase_if(forms, [&](const Form& f) { return !f.name.starts_with(env); });
  return forms;
}

void expect_catalogue_matches(SoftCpuExecutor::Mode mode) {
  Catalogue cat = build_catalogue(detect_host_features());
  ASSERT_TRUE(cat.errors.empty()) << cat.errors.front();
  ASSERT_GT(cat.forms.size(), 1000u);
  cat.forms = selected(std::move(cat.forms));
  SoftCpuExecutor soft(mode);
  DiffOptions options;
  options.max_reports = 60;
  auto counts = run_differential(soft, cat.forms, states_per_form(), seed(), options);
  ASSERT_TRUE(counts.ok()) << counts.error().message;
  std::string failing;
  for (size_t f : counts->mismatching_forms) failing += fmt::format("\n  {}", cat.forms[f].name);
  EXPECT_EQ(counts->mismatches, 0u)
      << counts->mismatching_forms.size() << " forms mismatch:" << failing;
  EXPECT_EQ(counts->errors, 0u);
  EXPECT_EQ(counts->forms, cat.forms.size());
  if (mode == SoftCpuExecutor::Mode::kTranslated) {
    // Every case ran two translated blocks: the form and the UD2, then the
    // HLT its exception reached. Most forms are SSE, x87 and system ones,
    // which the tier leaves to their handlers; the general-purpose ones are
    // inline.
    const cpu::JitStats* jit = soft.cpu().jit_stats();
    ASSERT_NE(jit, nullptr);
    EXPECT_EQ(jit->blocks, 2 * counts->states);
    EXPECT_GT(jit->inline_records, counts->states / 8);
    fmt::print("translated {} blocks: {} records inline, {} through their handlers\n", jit->blocks,
               jit->inline_records, jit->fallback_records);
  }
}

TEST(SoftCpuDifftest, WholeCatalogueMatchesTheHost) {
  expect_catalogue_matches(SoftCpuExecutor::Mode::kInterpreted);
}

// Each form as a block of its own, translated before it runs (the tier's
// threshold 0), its flags observed after it (a UD2 follows).
TEST(SoftCpuDifftest, WholeCatalogueMatchesTheHostThroughTheTranslatingTier) {
  expect_catalogue_matches(SoftCpuExecutor::Mode::kTranslated);
}

}  // namespace
}  // namespace vessel::difftest

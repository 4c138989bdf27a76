#include "differential.h"

#include <fmt/format.h>

#include "compare.h"
#include "native_executor.h"
#include "state_gen.h"

namespace vessel::difftest {
namespace {

uint64_t case_seed(uint64_t seed, size_t form, size_t index) {
  Rng mix(seed ^ (0xA5A5A5A5ull * (form + 1)));
  for (size_t i = 0; i < (index & 3); ++i) mix.next();
  return mix.next() ^ (index * 0x9E3779B97F4A7C15ull);
}

}  // namespace

Expected<DiffCounts> run_differential(EmulatedExecutor& emulated, std::span<const Form> forms,
                                      size_t states_per_form, uint64_t seed,
                                      const DiffOptions& options) {
  NativeExecutor native;
  DiffCounts counts;
  auto report = [&](std::string line) {
    if (counts.reports.size() >= options.max_reports) return;
    if (options.print) fmt::print("{}\n", line);
    counts.reports.push_back(std::move(line));
  };
  for (size_t f = 0; f < forms.size(); ++f) {
    const Form& form = forms[f];
    bool form_mismatched = false;
    for (size_t i = 0; i < states_per_form; ++i) {
      Rng rng(case_seed(seed, f, i));
      TestCase tc = make_case(form, rng);
      auto code = encode_form(form, tc.imm);
      if (!code) {
        ++counts.errors;
        report(fmt::format("ERROR {}: {}", form.name, code.error().message));
        continue;
      }
      auto want = native.run(*code, tc.state);
      if (!want) {
        if (counts.states == 0 && counts.errors == 0) return want.error();
        ++counts.errors;
        report(fmt::format("ERROR {} [{}] native: {}", form.name, hex_bytes(*code),
                           want.error().message));
        continue;
      }
      auto got = emulated.run(*code, tc.state);
      ++counts.states;
      if (want->vector != kNoException) ++counts.exceptions;
      if (!got) {
        ++counts.errors;
        report(fmt::format("ERROR {} [{}] emulated: {}", form.name, hex_bytes(*code),
                           got.error().message));
        continue;
      }
      Masks masks;
      masks.undefined_flags = undefined_flags(form, tc.state, tc.imm);
      if (form.rule.dest_undefined_if_zf && want->vector == kNoException &&
          (want->state.rflags & kFlagZF)) {
        masks.undefined_gpr = form.dest_gpr;
      }
      std::string diff = compare_results(*want, *got, masks);
      if (diff.empty()) continue;
      ++counts.mismatches;
      if (!form_mismatched) counts.mismatching_forms.push_back(f);
      form_mismatched = true;
      report(fmt::format("MISMATCH {} | {} | {} | seed {:#x} case {} | in: {} | {}", form.name,
                         hex_bytes(*code), disassemble(*code), seed, i,
                         describe_registers(tc.state), diff));
    }
    ++counts.forms;
  }
  if (options.print) {
    fmt::print(
        "compared {} forms x {} states ({} cases, {} ending in an exception; {} mismatches, {} "
        "errors; seed {:#x})\n",
        counts.forms, states_per_form, counts.states, counts.exceptions, counts.mismatches,
        counts.errors, seed);
  }
  return counts;
}

}  // namespace vessel::difftest

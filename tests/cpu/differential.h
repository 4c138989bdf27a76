// The differential driver: runs every form of a catalogue from many seeded
// random states on the host CPU (NativeExecutor) and on an emulated executor,
// compares the results with the SDM's undefined flags masked, and reports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "executor.h"
#include "form.h"

namespace vessel::difftest {

struct DiffOptions {
  size_t max_reports = 20;  // mismatch/error lines kept (and printed)
  bool print = true;        // print the report lines and the summary to stdout
};

struct DiffCounts {
  size_t forms = 0;                       // forms compared
  size_t states = 0;                      // cases compared (forms x states per form)
  size_t mismatches = 0;                  // cases whose results differ
  size_t errors = 0;                      // cases an executor could not run
  size_t exceptions = 0;                  // compared cases that ended in an exception on the host
  std::vector<size_t> mismatching_forms;  // indices into `forms`, each once
  std::vector<std::string> reports;       // the first max_reports mismatch/error lines
};

// Case i of form f uses a generator seeded from (seed, f, i), so a run is
// reproducible from its seed. Fails only when the native executor cannot run
// at all.
Expected<DiffCounts> run_differential(EmulatedExecutor& emulated, std::span<const Form> forms,
                                      size_t states_per_form, uint64_t seed,
                                      const DiffOptions& options = {});

}  // namespace vessel::difftest

#!/usr/bin/env bash
# Runs the unit tests under ASan+UBSan, then the whole suite (ctest). The last
# line printed is ctest's summary of the whole suite.
set -uo pipefail
build=${1:-build}
asan=${2:-build-asan}

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
if ! "$asan/tests/vessel_unit_tests" --gtest_brief=1; then
  echo "unit tests failed under ASan/UBSan" >&2
  exit 1
fi
echo "== whole suite"
ctest --test-dir "$build" --output-on-failure -j2

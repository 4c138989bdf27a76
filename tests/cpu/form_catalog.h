// The catalogue of user-mode instruction forms the differential tester runs:
// integer ALU, shifts and rotates, multiply/divide, bit operations, moves and
// conversions, CMOVcc/SETcc, exchange instructions, string instructions with
// and without REP, flag instructions, and ADX/BMI1/BMI2/LZCNT/POPCNT/MOVBE when
// the host has them. Each operand size, register and memory forms, with and
// without immediates, in a few register assignments (legacy, REX, AH-DH, the
// same register twice) and with LOCK where it is allowed.
#pragma once

#include <string>
#include <vector>

#include "form.h"
#include "host_features.h"

namespace vessel::difftest {

struct Catalogue {
  std::vector<Form> forms;
  std::vector<std::string> errors;  // forms that should exist but did not encode
};

Catalogue build_catalogue(const HostFeatures& host);

// General register `gpr` (0-15) of `size` bits; 8-bit with `high8`: AH..BH.
ZydisRegister gpr_register(int gpr, int size, bool high8 = false);

// The SSE to SSE4.2 forms (form_catalog_simd.cc), appended by build_catalogue.
void add_simd_forms(const HostFeatures& host, Catalogue& cat);

}  // namespace vessel::difftest

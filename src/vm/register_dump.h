// A readable dump of a vCPU's registers, for triple faults and fatal errors.
#pragma once

#include <string>

#include "accel/cpu_state.h"

namespace vessel {

std::string format_register_dump(const CpuState& s);

}  // namespace vessel

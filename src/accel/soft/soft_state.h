// CpuState <-> the software CPU's registers: complete in both directions, so
// that state() after set_state() returns what was set.
#pragma once

#include "accel/cpu_state.h"
#include "base/error.h"
#include "cpu/cpu.h"

namespace vessel {

CpuState soft_get_state(const cpu::Cpu& cpu, bool halted);
// Fails (changing nothing) on values the CPU cannot hold, e.g. an MSR it does
// not implement.
Status soft_set_state(cpu::Cpu& cpu, const CpuState& state);

}  // namespace vessel

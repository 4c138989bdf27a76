// Choosing the accelerator: --accel kvm|soft|auto. `auto` runs a short probe
// of /dev/kvm and takes KVM only when it is fast; a nested KVM can be 1000x
// slower than native, slower than a software CPU.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "accel/accelerator.h"
#include "base/error.h"
#include "cpu/jit/jit.h"

namespace vessel {

enum class AccelChoice { kAuto, kKvm, kSoft };

Expected<AccelChoice> parse_accel_choice(const std::string& text);

struct AccelSelection {
  std::unique_ptr<Accelerator> accel;
  std::string why;  // one line on how it was chosen (auto only)
};

// --jit on|off: the software CPU's translating tier on (the default) or off.
Expected<bool> parse_jit_switch(const std::string& text);

// `jit`: the software CPU's translating tier, when the choice is the software CPU.
Expected<AccelSelection> select_accelerator(
    AccelChoice choice, const cpu::JitOptions& jit = cpu::JitOptions::from_env());

// One line per accelerator for `vessel --probe-accel`:
//   "kvm: fast (1234.5 M instructions/s)", "soft: unavailable (...)".
std::vector<std::string> describe_accelerators();

}  // namespace vessel

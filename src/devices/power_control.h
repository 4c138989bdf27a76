// How platform devices (ACPI PM, reset register, i8042, debug exit) ask the VM
// to stop. Implemented by the VM; a request stops every vCPU soon after.
#pragma once

namespace vessel {

enum class StopReason {
  kPowerOff,   // ACPI S5 or equivalent: vessel exits with status 0
  kReset,      // reboot request: vessel exits non-zero unless asked to reboot
  kDebugExit,  // a write to the debug-exit port: status is (value << 1) | 1
};

class PowerControl {
 public:
  virtual ~PowerControl() = default;
  // `exit_status` is used for kDebugExit only.
  virtual void request_stop(StopReason reason, int exit_status = 0) = 0;
};

}  // namespace vessel

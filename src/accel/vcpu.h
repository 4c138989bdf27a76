// One virtual CPU, whatever runs it. run() executes guest code and returns
// only for what the VMM must decide; port I/O and MMIO are completed inside
// run() through the IoHandler the vCPU was created with.
#pragma once

#include <cstdint>
#include <string>

#include "accel/cpu_state.h"
#include "base/error.h"

namespace vessel {

struct VcpuExit {
  enum class Kind {
    kHalt,         // HLT with interrupts disabled and nothing pending that will wake it
    kShutdown,     // triple fault
    kPowerOff,     // the platform asked for power-off (ACPI S5 through the VMM's request)
    kReset,        // the platform asked for a reset
    kInterrupted,  // kick(): the VMM wants the vCPU's attention
    kInternalError,
  };
  Kind kind = Kind::kInterrupted;
  std::string detail;  // for kInternalError and kShutdown: what the accelerator reported
};

const char* to_string(VcpuExit::Kind kind);

// What a vCPU has done, readable from any thread while it runs (the
// management API's statistics). Each accelerator fills what it knows.
struct VcpuCounters {
  uint64_t instructions = 0;  // guest instructions executed (software CPU)
  uint64_t exits = 0;         // exits to the VMM (KVM)
  uint64_t interrupts = 0;    // interrupts delivered (software CPU)
};

class Vcpu {
 public:
  virtual ~Vcpu() = default;
  virtual int id() const = 0;
  // Runs until an exit the VMM must handle, or until kick() is called from
  // another thread. Errors are failures of the accelerator itself.
  virtual Expected<VcpuExit> run() = 0;
  // Makes a run() in progress (or the next one) return kInterrupted soon.
  // Safe to call from any thread.
  virtual void kick() = 0;
  virtual Expected<CpuState> state() = 0;
  virtual Status set_state(const CpuState& state) = 0;
  // Any thread.
  virtual VcpuCounters counters() const = 0;
};

}  // namespace vessel

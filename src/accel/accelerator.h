// The seam between the VM and whatever runs guest code (KVM or the software
// CPU). The VM code is the same for every accelerator.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "accel/vcpu.h"
#include "base/error.h"
#include "base/time_source.h"
#include "bus/io_bus.h"
#include "irq/irq_chip.h"
#include "memory/guest_memory.h"

namespace vessel {

class Accelerator {
 public:
  virtual ~Accelerator() = default;
  virtual std::string_view name() const = 0;
  // Makes guest RAM visible to the guest. Called once, before vCPUs exist.
  virtual Status map_memory(GuestMemory& memory) = 0;
  // Creates the interrupt controllers and timers the accelerator does not
  // have in the host kernel (the soft CPU's 8259A/IOAPIC/LAPIC/PIT), with
  // their ports and MMIO on `bus` and their timers from `time` (which must
  // outlive the accelerator). Called once, after map_memory and before
  // irq_chip() and create_vcpu(). KVM's are in the kernel: nothing to do.
  virtual Status create_irq_chip(IoBus& bus, TimeSource& time, int cpus) {
    (void)bus;
    (void)time;
    (void)cpus;
    return ok_status();
  }
  // The interrupt controller devices raise lines on.
  virtual IrqChip& irq_chip() = 0;
  // Creates vCPU `id`; it calls `io` for port and MMIO accesses. Call from the
  // thread that will run it.
  virtual Expected<std::unique_ptr<Vcpu>> create_vcpu(int id, IoHandler& io) = 0;
};

}  // namespace vessel

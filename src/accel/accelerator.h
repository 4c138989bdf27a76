// The seam between the VM and whatever runs guest code (KVM or the software
// CPU). The VM code is the same for every accelerator.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "accel/vcpu.h"
#include "base/error.h"
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
  // The interrupt controller devices raise lines on.
  virtual IrqChip& irq_chip() = 0;
  // Creates vCPU `id`; it calls `io` for port and MMIO accesses. Call from the
  // thread that will run it.
  virtual Expected<std::unique_ptr<Vcpu>> create_vcpu(int id, IoHandler& io) = 0;
};

}  // namespace vessel

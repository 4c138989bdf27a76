// Interrupt delivery for devices, the same under every accelerator. Under KVM
// it forwards to the in-kernel irqchip; the software CPU gets its own models.
#pragma once

#include <cstdint>

#include "base/error.h"

namespace vessel {

class IrqChip {
 public:
  virtual ~IrqChip() = default;
  // Drive global system interrupt `gsi` (ISA IRQ n is GSI n) high or low.
  // Edge-triggered devices raise then lower the line.
  virtual void set_level(uint32_t gsi, bool level) = 0;
  // Deliver a message-signalled interrupt.
  virtual void send_msi(uint64_t address, uint32_t data) = 0;
};

}  // namespace vessel

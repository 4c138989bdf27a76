// The soft accelerator's interrupt controller until the userspace PIC, IOAPIC
// and LAPICs (irq/soft_irq_chip.h) are wired in (issue 5): it drops every line
// and MSI, saying so once, so that a guest waiting for an interrupt is explained.
#pragma once

#include <atomic>

#include "irq/irq_chip.h"

namespace vessel {

class DroppingIrqChip : public IrqChip {
 public:
  void set_level(uint32_t gsi, bool level) override;
  void send_msi(uint64_t address, uint32_t data) override;
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  void note_drop(const char* what, uint64_t which);
  std::atomic<bool> logged_{false};
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace vessel

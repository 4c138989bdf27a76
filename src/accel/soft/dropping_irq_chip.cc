#include "accel/soft/dropping_irq_chip.h"

#include "base/log.h"

namespace vessel {

void DroppingIrqChip::note_drop(const char* what, uint64_t which) {
  dropped_.fetch_add(1, std::memory_order_relaxed);
  if (!logged_.exchange(true))
    log_warn(
        "soft accelerator: {} {:#x} dropped: the PIC, IOAPIC and local APIC models are not "
        "built yet (interrupts are not delivered under --accel soft)",
        what, which);
}

void DroppingIrqChip::set_level(uint32_t gsi, bool level) {
  if (level) note_drop("interrupt line GSI", gsi);
}

void DroppingIrqChip::send_msi(uint64_t address, uint32_t data) {
  (void)data;
  note_drop("MSI to", address);
}

}  // namespace vessel

// IrqChip over KVM's in-kernel interrupt controllers (PIC, IOAPIC, LAPICs):
// lines through KVM_IRQ_LINE, MSIs through KVM_SIGNAL_MSI. Thread-safe: both
// are ioctls on the VM fd, which KVM serializes.
#pragma once

#include "irq/irq_chip.h"

namespace vessel::kvm {

class KvmIrqChip final : public IrqChip {
 public:
  // `vm_fd` must outlive this object (the accelerator owns both).
  explicit KvmIrqChip(int vm_fd) : vm_fd_(vm_fd) {}
  void set_level(uint32_t gsi, bool level) override;
  void send_msi(uint64_t address, uint32_t data) override;

 private:
  int vm_fd_;
};

}  // namespace vessel::kvm

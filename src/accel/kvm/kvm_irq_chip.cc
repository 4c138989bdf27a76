#include "accel/kvm/kvm_irq_chip.h"

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <system_error>

#include "base/log.h"
#include "base/pc_layout.h"

namespace vessel::kvm {

void KvmIrqChip::set_level(uint32_t gsi, bool level) {
  if (gsi >= layout::kNumIoapicPins) {
    log_warn("interrupt line {} does not exist (the IOAPIC has {} pins)", gsi,
             layout::kNumIoapicPins);
    return;
  }
  kvm_irq_level irq{};
  irq.irq = gsi;
  irq.level = level ? 1 : 0;
  if (::ioctl(vm_fd_, KVM_IRQ_LINE, &irq) < 0) {
    log_warn("KVM_IRQ_LINE gsi {} level {} failed: {}", gsi, irq.level,
             std::generic_category().message(errno));
  }
}

void KvmIrqChip::send_msi(uint64_t address, uint32_t data) {
  kvm_msi msi{};
  msi.address_lo = static_cast<uint32_t>(address);
  msi.address_hi = static_cast<uint32_t>(address >> 32);
  msi.data = data;
  // > 0: delivered; 0: the guest blocked it (masked or no destination).
  if (::ioctl(vm_fd_, KVM_SIGNAL_MSI, &msi) < 0) {
    log_warn("KVM_SIGNAL_MSI address {:#x} data {:#x} failed: {}", address, data,
             std::generic_category().message(errno));
  }
}

}  // namespace vessel::kvm

// The interrupt system of the software CPU: the IrqChip devices drive, built
// from Vessel's own models of the 8259A pair (with ELCR), the IOAPIC, one
// local APIC per vCPU and the 8254 PIT. Under KVM none of this exists (the
// in-kernel irqchip and PIT are used, see accel/kvm/kvm_irq_chip.h), so
// attach() must not be called there.
//
// Routing of set_level(gsi, level), as the MADT of boot/acpi.cc declares it:
//   GSI 0 (PIT)     -> 8259A IRQ 0 and IOAPIC pin 2 (interrupt source override)
//   GSI 1, 3-15     -> 8259A IRQ n and IOAPIC pin n
//   GSI 2           -> nowhere (the 8259A cascade; IOAPIC pin 2 belongs to the PIT)
//   GSI 16-23       -> IOAPIC pin n only
//   others          -> ignored
// The 8259A's INTR output also drives IOAPIC pin 0 (for an ExtINT entry) and
// reaches every local APIC whose LINT0 accepts ExtINT (see lapic.h).
// send_msi(address, data): address 0xFEExxxxx, destination ID in bits 19-12,
// redirection hint bit 3, destination mode bit 2; data: vector, delivery mode
// (bits 10-8), trigger mode (bit 15). Other addresses are dropped.
// Lowest-priority delivery (and MSIs with the redirection hint) goes to the
// matching local APIC with the lowest APIC ID.
//
// The seam for the soft CPU (accel/soft), one Lapic per vCPU (lapic(cpu)):
//   - between instructions: has_pending_event() (lock-free), then
//     pending_vector(rflags.if) / acknowledge(), take_nmi(), take_init(),
//     take_sipi(); set_wakeup() for a vCPU halted in HLT;
//   - RDMSR/WRMSR: Lapic::handles_msr(index) -> read_msr / write_msr (an error
//     is #GP(0)); RDTSC: tsc_now(); WRMSR IA32_TSC: set_tsc_offset();
//     MOV CR8: tpr() / set_tpr() (CR8 = TPR >> 4);
//   - xAPIC MMIO at layout::kLapicBase: attach() registers a window that sends
//     each access to the LAPIC of the calling thread: call
//     bind_current_thread(cpu) on each vCPU thread before it runs (an unbound
//     thread reaches CPU 0's LAPIC).
//
// Locking: one mutex guards the 8259A pair, the IOAPIC and all local APICs
// (see lapic.h); set_level and send_msi take it and may be called from any
// thread (vCPU threads, the event loop). The PIT has its own mutex and calls
// set_level with it held, so nothing here calls into the PIT. Destroy the
// chip after the vCPU threads ended and the TimeSource stopped calling back.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "base/error.h"
#include "base/time_source.h"
#include "bus/io_bus.h"
#include "irq/apic_message.h"
#include "irq/ioapic.h"
#include "irq/irq_chip.h"
#include "irq/lapic.h"
#include "irq/pic8259.h"
#include "irq/pit8254.h"

namespace vessel {

class SoftIrqChip final : public IrqChip, private ApicBus {
 public:
  // `cpus` local APICs with IDs 0..cpus-1 (CPU 0 is the BSP), the IOAPIC with
  // ID `cpus` (as the MADT says).
  SoftIrqChip(TimeSource& time, int cpus, uint64_t tsc_hz = Lapic::kDefaultTscHz);
  ~SoftIrqChip() override;
  SoftIrqChip(const SoftIrqChip&) = delete;
  SoftIrqChip& operator=(const SoftIrqChip&) = delete;

  void set_level(uint32_t gsi, bool level) override;
  void send_msi(uint64_t address, uint32_t data) override;

  // Registers the 8259A ports (0x20-0x21, 0xA0-0xA1), the ELCR (0x4D0-0x4D1),
  // the PIT (0x40-0x43) and port B (0x61), the IOAPIC (layout::kIoapicBase)
  // and the local APIC window (layout::kLapicBase).
  Status attach(IoBus& bus);

  int cpu_count() const { return static_cast<int>(lapics_.size()); }
  Lapic& lapic(int cpu) { return *lapics_.at(static_cast<size_t>(cpu)); }
  // Makes this thread's xAPIC MMIO accesses reach lapic(cpu).
  void bind_current_thread(int cpu);

  // For tests and the VM: the models themselves.
  PicPair& pic() { return *pic_; }
  Ioapic& ioapic() { return *ioapic_; }
  Pit8254& pit() { return *pit_; }

 private:
  class LapicWindow;

  // ApicBus.
  void send_ipi_locked(const ApicMessage& message, uint32_t source_id) override;
  void eoi_broadcast_locked(uint8_t vector) override;
  bool ext_int_pending_locked() override;
  uint8_t ext_int_peek_locked() override;
  uint8_t ext_int_acknowledge_locked() override;

  void deliver_locked(const ApicMessage& message);
  void on_pic_intr_locked();

  std::mutex mu_;
  std::shared_ptr<PicPair> pic_;
  std::shared_ptr<Ioapic> ioapic_;
  std::vector<std::unique_ptr<Lapic>> lapics_;
  std::shared_ptr<Pit8254> pit_;
};

}  // namespace vessel

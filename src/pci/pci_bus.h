// PCI bus 0: up to 32 devices (function 0 each), their BAR addresses from a
// simple allocator over the platform's windows (layout::kPciMmioBase..End for
// memory BARs, 64-bit ones included; layout::kPciIoBase..End for I/O BARs;
// each BAR naturally aligned, memory BARs at least 4 KiB apart), and INTx
// routing: pin p of slot s reaches GSI layout::kIrqPciIntxBase + (s + p - 1)
// % 4 (the DSDT's _PRT describes the same swizzle).
//
// Configuration accesses come from the host bridge's two mechanisms
// (pci_host.h); a function that does not exist reads all ones and ignores
// writes. Devices are added while the VM is built, before any vCPU runs; the
// slot table is not changed afterwards, so lookups take no lock.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "base/error.h"
#include "base/pc_layout.h"
#include "bus/io_bus.h"
#include "irq/irq_chip.h"
#include "pci/pci_device.h"

namespace vessel {

class PciBus {
 public:
  static constexpr uint32_t kSlots = 32;

  PciBus(IoBus& io, IrqChip& irq) : io_(io), irq_(irq) {}

  // Puts `device` in `slot`, places its BARs, routes its INTx pin and
  // enables decoding (BARs mapped, as firmware would leave them).
  Status add(uint32_t slot, std::shared_ptr<PciDevice> device);
  // The same in the lowest free slot; returns the slot.
  Expected<uint32_t> add(std::shared_ptr<PciDevice> device);

  // Config space of bus/device/function, `offset` and the access's bytes
  // inside its 4 KiB. All ones for a function that does not exist.
  void config_read(uint32_t bus, uint32_t device, uint32_t function, uint32_t offset,
                   std::span<uint8_t> data);
  void config_write(uint32_t bus, uint32_t device, uint32_t function, uint32_t offset,
                    std::span<const uint8_t> data);

  PciDevice* device(uint32_t slot) const { return slot < kSlots ? slots_[slot].get() : nullptr; }

  // The GSI of INTx `pin` (1-4) of a device in `slot`.
  static uint32_t intx_gsi(uint32_t slot, uint8_t pin);

  // Where the allocator stands (for tests): the next free addresses.
  uint64_t next_mmio() const { return next_mmio_; }
  uint64_t next_io() const { return next_io_; }

 private:
  PciDevice* find(uint32_t bus, uint32_t device, uint32_t function) const;

  IoBus& io_;
  IrqChip& irq_;
  std::array<std::shared_ptr<PciDevice>, kSlots> slots_{};
  uint64_t next_mmio_ = layout::kPciMmioBase;
  uint64_t next_io_ = layout::kPciIoBase;
};

}  // namespace vessel

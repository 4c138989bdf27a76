// The state behind an MSI-X capability (PCI Express Base 4.0, 6.1.4 and
// 7.7.2): the table of vectors (message address, data and a per-vector mask
// bit, masked at reset) and the pending bit array, both read and written by
// the guest through a BAR, plus the capability's enable and function-mask
// bits (the owning PciDevice passes them on from config space).
//
// notify(vector) delivers the vector's message through IrqChip::send_msi,
// or, while the vector or the whole function is masked, sets its pending bit;
// unmasking delivers a pending message and clears its bit. A disabled MSI-X
// delivers nothing (the device falls back to INTx).
//
// Thread safety: one mutex; notify may come from any thread (event loop, I/O
// threads) while vCPUs access the table. Messages are sent under that mutex,
// so a vector's messages and its mask changes stay ordered.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "irq/irq_chip.h"

namespace vessel {

class Msix {
 public:
  // 1 to pci::kMsixMaxVectors vectors (asserted: the device's choice).
  Msix(IrqChip& irq, uint32_t vectors);

  uint32_t vectors() const { return vectors_; }
  uint64_t table_bytes() const { return uint64_t{vectors_} * 16; }
  // The PBA is whole QWORDs.
  uint64_t pba_bytes() const { return (uint64_t{vectors_} + 63) / 64 * 8; }

  // Accesses at `offset` inside the table / PBA; bytes outside read as zero
  // and are dropped on write. PBA writes are ignored (it is read-only).
  void table_read(uint64_t offset, std::span<uint8_t> data);
  void table_write(uint64_t offset, std::span<const uint8_t> data);
  void pba_read(uint64_t offset, std::span<uint8_t> data);

  // The capability's Message Control bits (MSI-X Enable, Function Mask).
  void set_control(bool enabled, bool function_masked);
  bool enabled() const;

  // Signals `vector`. Returns false when MSI-X is disabled or `vector` does
  // not exist (nothing is sent or made pending), true when the message was
  // sent or left pending.
  bool notify(uint32_t vector);
  bool pending(uint32_t vector) const;
  bool masked(uint32_t vector) const;

  // Device reset: all vectors masked, nothing pending, disabled.
  void reset();

 private:
  uint32_t entry_dword_locked(uint32_t vector, uint32_t dword) const;
  void deliver_locked(uint32_t vector);
  // Delivers every pending vector that is no longer masked.
  void flush_pending_locked();

  IrqChip& irq_;
  const uint32_t vectors_;
  mutable std::mutex mu_;
  std::vector<uint8_t> table_;  // vectors_ * 16 bytes
  std::vector<uint64_t> pba_;   // one bit per vector
  bool enabled_ = false;
  bool function_masked_ = false;
};

}  // namespace vessel

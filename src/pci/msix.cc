#include "pci/msix.h"

#include <algorithm>
#include <cassert>

#include "pci/pci_regs.h"

namespace vessel {

Msix::Msix(IrqChip& irq, uint32_t vectors)
    : irq_(irq),
      vectors_(vectors),
      table_(uint64_t{vectors} * pci::kMsixEntrySize),
      pba_((vectors + 63) / 64) {
  assert(vectors >= 1 && vectors <= pci::kMsixMaxVectors);
  reset();
}

void Msix::reset() {
  std::lock_guard lock(mu_);
  std::fill(table_.begin(), table_.end(), 0);
  for (uint32_t v = 0; v < vectors_; v++) {
    table_[v * pci::kMsixEntrySize + pci::kMsixEntryVectorControl] = pci::kMsixVectorMasked;
  }
  std::fill(pba_.begin(), pba_.end(), 0);
  enabled_ = false;
  function_masked_ = false;
}

uint32_t Msix::entry_dword_locked(uint32_t vector, uint32_t dword) const {
  size_t base = size_t{vector} * pci::kMsixEntrySize + dword * 4;
  return uint32_t{table_[base]} | uint32_t{table_[base + 1]} << 8 |
         uint32_t{table_[base + 2]} << 16 | uint32_t{table_[base + 3]} << 24;
}

bool Msix::masked(uint32_t vector) const {
  if (vector >= vectors_) return true;
  std::lock_guard lock(mu_);
  return entry_dword_locked(vector, 3) & pci::kMsixVectorMasked;
}

bool Msix::pending(uint32_t vector) const {
  if (vector >= vectors_) return false;
  std::lock_guard lock(mu_);
  return (pba_[vector / 64] >> (vector % 64)) & 1;
}

bool Msix::enabled() const {
  std::lock_guard lock(mu_);
  return enabled_;
}

void Msix::table_read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < data.size(); i++) {
    uint64_t at = offset + i;
    data[i] = at < table_.size() ? table_[at] : 0;
  }
}

void Msix::table_write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mu_);
  bool control_touched = false;
  for (size_t i = 0; i < data.size(); i++) {
    uint64_t at = offset + i;
    if (at >= table_.size()) continue;
    uint64_t in_entry = at % pci::kMsixEntrySize;
    if (in_entry >= pci::kMsixEntryVectorControl) {
      // Vector Control: only the mask bit is implemented; the rest reads 0.
      if (in_entry != pci::kMsixEntryVectorControl) continue;
      table_[at] = data[i] & pci::kMsixVectorMasked;
      control_touched = true;
    } else {
      table_[at] = data[i];
    }
  }
  if (control_touched) flush_pending_locked();
}

void Msix::pba_read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < data.size(); i++) {
    uint64_t at = offset + i;
    data[i] = at / 8 < pba_.size() ? static_cast<uint8_t>(pba_[at / 8] >> (8 * (at % 8))) : 0;
  }
}

void Msix::set_control(bool enabled, bool function_masked) {
  std::lock_guard lock(mu_);
  enabled_ = enabled;
  function_masked_ = function_masked;
  flush_pending_locked();
}

void Msix::deliver_locked(uint32_t vector) {
  uint64_t address = uint64_t{entry_dword_locked(vector, 1)} << 32 | entry_dword_locked(vector, 0);
  irq_.send_msi(address, entry_dword_locked(vector, 2));
}

void Msix::flush_pending_locked() {
  if (!enabled_ || function_masked_) return;
  for (uint32_t w = 0; w < pba_.size(); w++) {
    uint64_t bits = pba_[w];
    while (bits != 0) {
      uint32_t vector = w * 64 + static_cast<uint32_t>(__builtin_ctzll(bits));
      bits &= bits - 1;
      if (entry_dword_locked(vector, 3) & pci::kMsixVectorMasked) continue;
      pba_[w] &= ~(uint64_t{1} << (vector % 64));
      deliver_locked(vector);
    }
  }
}

bool Msix::notify(uint32_t vector) {
  if (vector >= vectors_) return false;
  std::lock_guard lock(mu_);
  if (!enabled_) return false;
  if (function_masked_ || (entry_dword_locked(vector, 3) & pci::kMsixVectorMasked)) {
    pba_[vector / 64] |= uint64_t{1} << (vector % 64);
    return true;
  }
  deliver_locked(vector);
  return true;
}

}  // namespace vessel

#include "pci/pci_bus.h"

#include <algorithm>
#include <cstring>

namespace vessel {

namespace {

constexpr uint64_t kMinMemoryBar = 0x1000;  // one page: a BAR never shares a page

uint64_t align_up(uint64_t value, uint64_t align) {
  return (value + align - 1) & ~(align - 1);
}

}  // namespace

uint32_t PciBus::intx_gsi(uint32_t slot, uint8_t pin) {
  return layout::pci_intx_gsi(slot, pin);
}

Status PciBus::add(uint32_t slot, std::shared_ptr<PciDevice> device) {
  if (slot >= kSlots) return make_error("PCI slot {} does not exist (0 to {})", slot, kSlots - 1);
  if (slots_[slot]) {
    return make_error("PCI slot {} is taken by {} (wanted by {})", slot, slots_[slot]->name(),
                      device->name());
  }
  // Place the BARs, largest first would pack tighter; devices have few BARs,
  // so in order with natural alignment is enough.
  std::array<uint64_t, PciDevice::kNumBars> addresses{};
  uint64_t mmio = next_mmio_, io = next_io_;
  for (int i = 0; i < PciDevice::kNumBars; i++) {
    PciBarKind kind = device->bar_kind(i);
    uint64_t size = device->bar_size(i);
    if (kind == PciBarKind::kNone) continue;
    if (kind == PciBarKind::kIo) {
      uint64_t at = align_up(io, size);
      if (at + size > layout::kPciIoEnd) {
        return make_error("PCI {}: no room for I/O BAR {} ({:#x} ports) in {:#x}-{:#x}",
                          device->name(), i, size, layout::kPciIoBase, layout::kPciIoEnd - 1);
      }
      addresses[i] = at;
      io = at + size;
    } else {
      uint64_t align = std::max(size, kMinMemoryBar);
      uint64_t at = align_up(mmio, align);
      if (at + size > layout::kPciMmioEnd || at + size < at) {
        return make_error("PCI {}: no room for memory BAR {} ({:#x} bytes) in {:#x}-{:#x}",
                          device->name(), i, size, layout::kPciMmioBase, layout::kPciMmioEnd - 1);
      }
      addresses[i] = at;
      mmio = at + std::max(size, kMinMemoryBar);
    }
  }
  VESSEL_TRY(device->attach(io_, irq_, intx_gsi(slot, device->interrupt_pin()), addresses, true));
  next_mmio_ = mmio;
  next_io_ = io;
  slots_[slot] = std::move(device);
  return ok_status();
}

Expected<uint32_t> PciBus::add(std::shared_ptr<PciDevice> device) {
  for (uint32_t slot = 0; slot < kSlots; slot++) {
    if (slots_[slot]) continue;
    VESSEL_TRY(add(slot, std::move(device)));
    return slot;
  }
  return make_error("PCI bus 0 is full ({} slots): no room for {}", kSlots, device->name());
}

PciDevice* PciBus::find(uint32_t bus, uint32_t device, uint32_t function) const {
  if (bus != 0 || function != 0 || device >= kSlots) return nullptr;
  return slots_[device].get();
}

void PciBus::config_read(uint32_t bus, uint32_t device, uint32_t function, uint32_t offset,
                         std::span<uint8_t> data) {
  PciDevice* dev = find(bus, device, function);
  if (dev == nullptr || offset >= pci::kExtConfigSize ||
      data.size() > pci::kExtConfigSize - offset) {
    std::memset(data.data(), 0xFF, data.size());
    return;
  }
  dev->config_read(offset, data);
}

void PciBus::config_write(uint32_t bus, uint32_t device, uint32_t function, uint32_t offset,
                          std::span<const uint8_t> data) {
  PciDevice* dev = find(bus, device, function);
  if (dev == nullptr || offset >= pci::kExtConfigSize ||
      data.size() > pci::kExtConfigSize - offset) {
    return;
  }
  dev->config_write(offset, data);
}

}  // namespace vessel

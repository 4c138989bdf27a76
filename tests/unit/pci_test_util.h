// Helpers for the PCI tests: a PciDevice with a recording BAR handler and
// little-endian config/bus accessors.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "bus/io_bus.h"
#include "devices/register_bytes.h"
#include "pci/pci_device.h"

namespace vessel::testing {

class RecordingPciDevice : public PciDevice {
 public:
  struct Mapped {
    int bar;
    std::optional<uint64_t> address;
    bool operator==(const Mapped&) const = default;
  };
  RecordingPciDevice() : PciDevice("test-pci", PciIds{0x1AF4, 0x1234, 0x028000, 3, 0x1AF4, 0x77}) {}

  // Reads return 0xA0 + bar in every byte; writes are recorded.
  void bar_read(int bar, uint64_t offset, std::span<uint8_t> data) override {
    std::lock_guard lock(mu);
    last_read_offset = offset;
    for (auto& b : data) b = static_cast<uint8_t>(0xA0 + bar);
  }
  void bar_write(int bar, uint64_t offset, std::span<const uint8_t> data) override {
    std::lock_guard lock(mu);
    writes.push_back({bar, offset, load_le(data)});
  }
  void bar_mapped(int bar, std::optional<uint64_t> address) override {
    std::lock_guard lock(mu);
    mapped.push_back({bar, address});
  }

  struct Write {
    int bar;
    uint64_t offset;
    uint64_t value;
    bool operator==(const Write&) const = default;
  };
  std::mutex mu;
  std::vector<Write> writes;
  std::vector<Mapped> mapped;
  uint64_t last_read_offset = ~0ull;
};

template <typename Dev>
uint32_t cfg_read(Dev& dev, uint32_t offset, size_t size) {
  uint8_t buf[8] = {};
  dev.config_read(offset, std::span<uint8_t>(buf, size));
  return static_cast<uint32_t>(load_le(std::span<const uint8_t>(buf, size)));
}
template <typename Dev>
void cfg_write(Dev& dev, uint32_t offset, size_t size, uint64_t value) {
  uint8_t buf[8] = {};
  store_le(std::span<uint8_t>(buf, size), value);
  dev.config_write(offset, std::span<const uint8_t>(buf, size));
}

inline uint64_t mmio_read(IoBus& bus, uint64_t addr, size_t size) {
  uint8_t buf[8] = {};
  bus.mmio_read(addr, std::span<uint8_t>(buf, size));
  return load_le(std::span<const uint8_t>(buf, size));
}
inline void mmio_write(IoBus& bus, uint64_t addr, size_t size, uint64_t value) {
  uint8_t buf[8] = {};
  store_le(std::span<uint8_t>(buf, size), value);
  bus.mmio_write(addr, std::span<const uint8_t>(buf, size));
}
inline uint64_t pio_read(IoBus& bus, uint16_t port, size_t size) {
  uint8_t buf[8] = {};
  bus.pio_read(port, std::span<uint8_t>(buf, size));
  return load_le(std::span<const uint8_t>(buf, size));
}
inline void pio_write(IoBus& bus, uint16_t port, size_t size, uint64_t value) {
  uint8_t buf[8] = {};
  store_le(std::span<uint8_t>(buf, size), value);
  bus.pio_write(port, std::span<const uint8_t>(buf, size));
}

}  // namespace vessel::testing

// Two address maps, 16-bit port space and 64-bit MMIO space, of Device
// ranges. Overlapping ranges are rejected. Reads of unclaimed addresses return
// all ones and writes to them are dropped, as on a PC's open bus.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>

#include "base/error.h"
#include "bus/device.h"

namespace vessel {

// What a vCPU calls on a port or MMIO access it cannot complete itself. The
// KVM backend decodes its exits into these calls; the software CPU calls them
// from its memory path.
class IoHandler {
 public:
  virtual ~IoHandler() = default;
  virtual void pio_read(uint16_t port, std::span<uint8_t> data) = 0;
  virtual void pio_write(uint16_t port, std::span<const uint8_t> data) = 0;
  virtual void mmio_read(uint64_t addr, std::span<uint8_t> data) = 0;
  virtual void mmio_write(uint64_t addr, std::span<const uint8_t> data) = 0;
};

class IoBus : public IoHandler {
 public:
  Status add_pio(uint16_t base, uint32_t length, std::shared_ptr<Device> device);
  Status add_mmio(uint64_t base, uint64_t length, std::shared_ptr<Device> device);
  // Remove the range starting at `base` if `device` holds it (PCI BARs move
  // when the guest reprograms them); returns whether a range was removed. A
  // device removed while a vCPU is inside one of its calls finishes that call
  // (callers keep their own reference to the device).
  bool remove_pio(uint16_t base, const Device* device);
  bool remove_mmio(uint64_t base, const Device* device);

  void pio_read(uint16_t port, std::span<uint8_t> data) override;
  void pio_write(uint16_t port, std::span<const uint8_t> data) override;
  void mmio_read(uint64_t addr, std::span<uint8_t> data) override;
  void mmio_write(uint64_t addr, std::span<const uint8_t> data) override;

  // Count of accesses that hit no device (for statistics and tests).
  uint64_t unclaimed_accesses() const { return unclaimed_.load(std::memory_order_relaxed); }

 private:
  struct Range {
    uint64_t length;
    std::shared_ptr<Device> device;
  };
  using Map = std::map<uint64_t, Range>;  // keyed by base address

  static Status insert(Map& map, uint64_t base, uint64_t length, std::shared_ptr<Device> device,
                       const char* space);
  static bool erase(Map& map, uint64_t base, const Device* device);
  // Finds the device holding [addr, addr+len); sets *offset.
  Device* find(const Map& map, uint64_t addr, uint64_t len, uint64_t* offset) const;
  void read(const Map& map, uint64_t addr, std::span<uint8_t> data);
  void write(const Map& map, uint64_t addr, std::span<const uint8_t> data);

  mutable std::shared_mutex mu_;  // guards the maps (written at set-up, read on every access)
  Map pio_;
  Map mmio_;
  std::atomic<uint64_t> unclaimed_{0};
};

}  // namespace vessel

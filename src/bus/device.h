// A device on the IoBus: a range of ports or MMIO addresses. The bus passes
// the offset inside the device's range and the access's bytes (1, 2, 4 or 8,
// little-endian). A device never sees which accelerator is running, and it
// guards its own state: vCPU threads and the event loop may call it at once.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace vessel {

class Device {
 public:
  virtual ~Device() = default;
  virtual std::string_view name() const = 0;
  // Fill `data` with the value read at `offset`.
  virtual void read(uint64_t offset, std::span<uint8_t> data) = 0;
  virtual void write(uint64_t offset, std::span<const uint8_t> data) = 0;
};

}  // namespace vessel

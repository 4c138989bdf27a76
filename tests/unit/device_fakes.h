// Test doubles for the platform devices' collaborators: an IrqChip that
// records every set_level call, and a PowerControl that records stop requests.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "devices/power_control.h"
#include "irq/irq_chip.h"

namespace vessel::testing {

class FakeIrqChip : public IrqChip {
 public:
  struct Call {
    uint32_t gsi;
    bool level;
    bool operator==(const Call&) const = default;
  };
  void set_level(uint32_t gsi, bool level) override {
    std::lock_guard lock(mu);
    calls.push_back({gsi, level});
  }
  struct Msi {
    uint64_t address;
    uint32_t data;
    bool operator==(const Msi&) const = default;
  };
  void send_msi(uint64_t address, uint32_t data) override {
    std::lock_guard lock(mu);
    msi_count++;
    msis.push_back({address, data});
  }
  // The level of `gsi` after the last call (false if never driven).
  bool level(uint32_t gsi) const {
    std::lock_guard lock(mu);
    for (auto it = calls.rbegin(); it != calls.rend(); ++it) {
      if (it->gsi == gsi) return it->level;
    }
    return false;
  }

  mutable std::mutex mu;
  std::vector<Call> calls;
  int msi_count = 0;
  std::vector<Msi> msis;
};

class FakePowerControl : public PowerControl {
 public:
  struct Request {
    StopReason reason;
    int exit_status;
    bool operator==(const Request&) const = default;
  };
  void request_stop(StopReason reason, int exit_status) override {
    std::lock_guard lock(mu);
    requests.push_back({reason, exit_status});
  }

  std::mutex mu;
  std::vector<Request> requests;
};

// Byte-access helpers for driving a Device directly.
template <typename Dev>
uint8_t read8(Dev& dev, uint64_t offset) {
  uint8_t b = 0;
  dev.read(offset, std::span<uint8_t>(&b, 1));
  return b;
}
template <typename Dev>
void write8(Dev& dev, uint64_t offset, uint8_t value) {
  dev.write(offset, std::span<const uint8_t>(&value, 1));
}

}  // namespace vessel::testing

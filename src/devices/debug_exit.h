// A debug-exit port like QEMU's isa-debug-exit (layout::kPortDebugExit, for
// test guests and `vessel --debug-exit`): a 1-, 2- or 4-byte write of value v
// at the port asks the VM to stop with exit status (v << 1) | 1, so that no
// guest can fake a clean exit 0. The range is 4 ports wide so that wide
// writes reach it; writes at the other three ports are ignored. Reads return
// all ones, as if nothing were there (the port is write-only).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "bus/device.h"
#include "devices/power_control.h"

namespace vessel {

class DebugExit : public Device {
 public:
  static constexpr uint32_t kPortCount = 4;  // register at layout::kPortDebugExit

  explicit DebugExit(PowerControl& power) : power_(power) {}

  std::string_view name() const override { return "debug-exit"; }
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // The exit status a write of `value` asks for (the process keeps its low 8 bits).
  static int exit_status_for(uint32_t value);

 private:
  PowerControl& power_;  // thread-safe itself; the device has no state to lock
};

}  // namespace vessel

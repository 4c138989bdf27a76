// The reset control register at port 0xCF9 (layout::kPortResetCf9), as on
// Intel PCH/PIIX chipsets. A write with RST_CPU (bit 2) set asks the VM to
// reset: -> PowerControl::request_stop(kReset). SYS_RST (bit 1) picks a hard
// reset (Linux writes 0x02 then 0x06); a VM has no lighter "soft" reset
// (INIT of the CPUs only), so RST_CPU without SYS_RST resets the same way.
// Reads return the last value written (0 at power-on).
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <string_view>

#include "bus/device.h"
#include "devices/power_control.h"

namespace vessel {

class ResetControl : public Device {
 public:
  static constexpr uint32_t kPortCount = 1;  // register at layout::kPortResetCf9

  explicit ResetControl(PowerControl& power) : power_(power) {}

  std::string_view name() const override { return "reset-control"; }
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  PowerControl& power_;
  std::mutex mu_;
  uint8_t value_ = 0;
};

}  // namespace vessel

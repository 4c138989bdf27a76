// The ACPI fixed-hardware power-management registers, one block of ports
// from layout::kPortAcpiPm1aEvt (offsets relative to it):
//   +0 PM1a_STS (2 bytes, write 1 to clear)   +2 PM1a_EN (2 bytes)
//   +4 PM1a_CNT (2 bytes): SCI_EN (bit 0) always reads 1 (ACPI mode, no SMI
//      command port); writing SLP_EN (bit 13) with SLP_TYP (bits 12:10) ==
//      layout::kAcpiS5SlpTyp asks the VM to power off ->
//      PowerControl::request_stop(kPowerOff); other sleep states are not
//      supported: the write is ignored (logged once).
//   +6 reserved (reads 0)
//   +8 PM_TMR (4 bytes, read-only): a 24-bit counter at 3.579545 MHz from
//      the host monotonic clock (FADT TMR_VAL_EXT = 0).
// Nothing raises SCI: no status bit is ever set by the device (not even
// TMR_STS on the timer's bit-23 carry), so PM1_EN bits have no effect.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string_view>

#include "base/pc_layout.h"
#include "bus/device.h"
#include "devices/power_control.h"

namespace vessel {

class AcpiPm : public Device {
 public:
  // Nanoseconds of a monotonic clock (what CLOCK_MONOTONIC gives).
  using MonotonicClock = std::function<uint64_t()>;
  static constexpr uint16_t kPortBase = layout::kPortAcpiPm1aEvt;
  static constexpr uint32_t kPortCount = layout::kPortAcpiPmTmr + 4 - kPortBase;
  static constexpr uint64_t kTimerHz = 3'579'545;

  // An empty clock means the host's CLOCK_MONOTONIC. The timer counts from
  // 0 at construction.
  explicit AcpiPm(PowerControl& power, MonotonicClock clock = {});

  std::string_view name() const override { return "acpi-pm"; }
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  uint32_t timer_value() const;  // the 24-bit counter now

  PowerControl& power_;
  const MonotonicClock clock_;
  const uint64_t start_ns_;
  std::mutex mu_;
  uint16_t status_ = 0;
  uint16_t enable_ = 0;
  uint16_t control_ = 0;  // the stored bits of PM1a_CNT (not SCI_EN, not SLP_EN)
  bool warned_sleep_ = false;
};

}  // namespace vessel

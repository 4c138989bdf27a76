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
// The power button (press_power_button(), the management API's
// vm.power-button) sets PWRBTN_STS (PM1a_STS bit 8); while PWRBTN_STS and
// PWRBTN_EN (PM1a_EN bit 8) are both set the SCI line (layout::kIrqAcpiSci,
// level-triggered) is high, so the guest's ACPI driver sees a fixed-hardware
// power button event and clears the status bit. TMR_STS is never set (no
// timer-carry event), so PM1_EN's other bits have no effect.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string_view>

#include "base/pc_layout.h"
#include "bus/device.h"
#include "devices/power_control.h"
#include "irq/irq_chip.h"

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
  explicit AcpiPm(PowerControl& power, IrqChip* irq = nullptr, MonotonicClock clock = {});

  // Presses the power button (any thread).
  void press_power_button();

  std::string_view name() const override { return "acpi-pm"; }
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  uint32_t timer_value() const;  // the 24-bit counter now
  void update_sci_locked();

  PowerControl& power_;
  IrqChip* irq_;
  bool sci_ = false;  // the level driven on the SCI line
  const MonotonicClock clock_;
  const uint64_t start_ns_;
  std::mutex mu_;
  uint16_t status_ = 0;
  uint16_t enable_ = 0;
  uint16_t control_ = 0;  // the stored bits of PM1a_CNT (not SCI_EN, not SLP_EN)
  bool warned_sleep_ = false;
};

}  // namespace vessel

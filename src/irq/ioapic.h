// The I/O APIC (after the Intel 82093AA datasheet): 24 input pins, each with
// a 64-bit redirection entry (vector, delivery mode, destination mode and
// destination, trigger mode, mask), edge and level triggering, Remote IRR for
// level interrupts cleared by the local APICs' broadcast EOI (by vector).
// MMIO at layout::kIoapicBase: IOREGSEL at offset 0x00, IOWIN at 0x10;
// registers 0x00 ID, 0x01 version (0x11, 24 entries), 0x02 arbitration ID,
// 0x10 + 2n / 0x11 + 2n the low / high halves of entry n.
//
// Pins carry logical levels (true = asserted): the polarity bit is stored and
// read back but not applied, as for every IrqChip user a raised line means
// "interrupt requested". An edge arriving on a masked pin is lost (as on the
// 82093AA); a level that stands when its pin is unmasked is delivered.
//
// Locking: no lock of its own. The Device methods take the interrupt system's
// lock (`mu`); *_locked methods expect the caller to hold it. `deliver` runs
// under that lock.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string_view>

#include "base/pc_layout.h"
#include "bus/device.h"
#include "irq/apic_message.h"

namespace vessel {

class Ioapic final : public Device {
 public:
  static constexpr uint32_t kPins = layout::kNumIoapicPins;
  static constexpr uint64_t kMmioSize = 0x1000;
  static constexpr uint64_t kRegSelect = 0x00;
  static constexpr uint64_t kRegWindow = 0x10;
  static constexpr uint32_t kVersion = 0x11;

  using Deliver = std::function<void(const ApicMessage&)>;
  Ioapic(std::mutex& mu, uint8_t id, Deliver deliver);

  std::string_view name() const override { return "ioapic"; }
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Drives pin `pin` (others ignored).
  void set_pin_locked(uint32_t pin, bool level);
  // A local APIC's EOI of a level-triggered `vector`.
  void eoi_locked(uint8_t vector);

  // The register behind IOREGSEL `index` (for tests and the window).
  uint32_t read_register_locked(uint8_t index) const;
  void write_register_locked(uint8_t index, uint32_t value);

 private:
  static constexpr uint64_t kMasked = 1ull << 16;
  static constexpr uint64_t kLevel = 1ull << 15;
  static constexpr uint64_t kRemoteIrr = 1ull << 14;

  // Sends pin `pin`'s interrupt if it is due (unmasked; for level pins, line
  // high and no Remote IRR).
  void service_locked(uint32_t pin);

  std::mutex& mu_;
  Deliver deliver_;
  uint8_t id_;
  uint8_t select_ = 0;
  uint32_t lines_ = 0;  // pin levels
  std::array<uint64_t, kPins> redir_;
};

}  // namespace vessel

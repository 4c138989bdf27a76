// The test device for Vessel's test guests: the same 32-bit registers in the
// port window (layout::kPortTestDevice, 16 ports) and the MMIO window
// (layout::kTestDeviceMmio, layout::kTestDeviceMmioSize bytes):
//   0x0 ID       read-only, 0x4C535356 ("VSSL" in memory order)
//   0x4 SCRATCH  read/write
//   0x8 IRQ      write 1: pulse GSI layout::kIrqTestDevice (raise, then lower);
//                2: raise (level); 0: lower; other values ignored.
//                Reads give the line's level (0 or 1).
//   0xC COUNTER  a read covering all four bytes (a 4-byte read at 0xC, or an
//                8-byte MMIO read at 0x8) returns the counter, starting at 0,
//                then advances it; narrower reads give bytes of the value the
//                next full read returns, without advancing. Writes ignored.
//   other offsets read 0 and ignore writes.
// Accesses of any width act on the bytes they cover (a narrow access reads or
// writes those bytes of the register; an access may span two registers).
// Register ONE object in both windows: offsets are the same, and the device
// need not know which window an access came through (ports only carry 1, 2
// and 4 bytes; 8-byte accesses come from MMIO).
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <string_view>

#include "bus/device.h"
#include "irq/irq_chip.h"

namespace vessel {

class TestDevice : public Device {
 public:
  static constexpr uint32_t kId = 0x4C53'5356;
  static constexpr uint64_t kRegId = 0x0;
  static constexpr uint64_t kRegScratch = 0x4;
  static constexpr uint64_t kRegIrq = 0x8;
  static constexpr uint64_t kRegCounter = 0xC;
  static constexpr uint32_t kPortCount = 16;  // port window size

  explicit TestDevice(IrqChip& irq);

  std::string_view name() const override { return "test-device"; }
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  uint32_t register_value(uint64_t reg) const;

  IrqChip& irq_;
  std::mutex mu_;
  uint32_t scratch_ = 0;
  uint32_t counter_ = 0;
  bool irq_level_ = false;
};

}  // namespace vessel

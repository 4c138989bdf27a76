// The MC146818 real-time clock and its CMOS RAM (ports 0x70 index, 0x71
// data). The clock registers read the host's current UTC time at each access
// (plus whatever offset the guest set), in BCD or binary and 12- or 24-hour
// form as register B selects; the century is at 0x32.
//
// - Port 0x70 is write-only (reads give 0xFF); bit 7 of the index is the
//   NMI-disable gate on a PC and is masked off (NMIs are not gated).
// - Register A: UIP reads 1 during the last 244 us of each second, as on the
//   chip, so that "wait for UIP clear, then read" is safe; the divider and
//   rate bits are stored (default 0x26) but do not change the clock's pace.
// - Register B (default 0x02: 24-hour, BCD): SET freezes the clock registers;
//   the guest's writes to them then stick, and clearing SET restarts the
//   clock from them (kept as an offset from host time). Writes without SET
//   apply at once. Setting SET clears UIE, per the datasheet.
// - Register C: UF is set when an update cycle finished since the last read
//   of C; AF and PF are never set; IRQF = UF && UIE. Reading clears it.
// - Register D: VRT (0x80), the battery is fine.
// - Alarm registers (0x01, 0x03, 0x05) and the rest of the 128 bytes are
//   plain storage.
// Not implemented: periodic, alarm and update-ended interrupts (IRQ 8 is
// never raised), daylight saving (DSE is stored, ignored), and 0x72/0x73
// extended banks. An out-of-range date the guest writes is normalised
// (31 February becomes 3 March) when the clock runs again; the day of the
// week always follows from the date once the clock runs.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string_view>

#include "bus/device.h"

namespace vessel {

class Cmos : public Device {
 public:
  // Nanoseconds since the Unix epoch, UTC (what CLOCK_REALTIME gives).
  using WallClock = std::function<int64_t()>;
  static constexpr uint32_t kPortCount = 2;  // register at layout::kPortCmos

  // An empty clock means the host's CLOCK_REALTIME.
  explicit Cmos(WallClock clock = {});

  std::string_view name() const override { return "cmos-rtc"; }
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  struct DateTime {
    int64_t year;
    int month;  // 1-12
    int day;    // 1-31
    int hour;   // 0-23
    int minute;
    int second;
    int weekday;  // 1-7, Sunday = 1
  };

  uint8_t read_register(uint8_t index);
  void write_register(uint8_t index, uint8_t value);
  bool set_mode() const;
  int64_t host_seconds(int64_t ns) const;
  DateTime guest_time(int64_t ns) const;  // what the clock registers show
  // Lets the clock run on from `t` (normalised) as of host time `ns`.
  void run_from(const DateTime& t, int64_t ns);
  uint8_t encode(int value) const;  // per DM: BCD or binary
  int decode(uint8_t value) const;
  uint8_t encode_hour(int hour) const;  // per 24/12 and DM
  int decode_hour(uint8_t value) const;

  WallClock clock_;
  std::mutex mu_;
  std::array<uint8_t, 128> ram_{};
  uint8_t index_ = 0;
  int64_t offset_seconds_ = 0;  // guest time minus host time
  DateTime frozen_{};           // the clock registers while SET is on
  int64_t last_c_read_second_;  // host second of the last register C read
};

}  // namespace vessel

#include "devices/cmos.h"

#include <time.h>

#include <utility>

namespace vessel {
namespace {

constexpr uint8_t kRegSeconds = 0x00;
constexpr uint8_t kRegMinutes = 0x02;
constexpr uint8_t kRegHours = 0x04;
constexpr uint8_t kRegWeekday = 0x06;
constexpr uint8_t kRegDay = 0x07;
constexpr uint8_t kRegMonth = 0x08;
constexpr uint8_t kRegYear = 0x09;
constexpr uint8_t kRegA = 0x0A;
constexpr uint8_t kRegB = 0x0B;
constexpr uint8_t kRegC = 0x0C;
constexpr uint8_t kRegD = 0x0D;
constexpr uint8_t kRegCentury = 0x32;

constexpr uint8_t kAUip = 0x80;
constexpr uint8_t kADefault = 0x26;  // 32.768 kHz time base, 1024 Hz rate
constexpr uint8_t kBSet = 0x80;
constexpr uint8_t kBUie = 0x10;
constexpr uint8_t kBBinary = 0x04;
constexpr uint8_t kB24Hour = 0x02;
constexpr uint8_t kBDefault = kB24Hour;
constexpr uint8_t kCIrqf = 0x80;
constexpr uint8_t kCUf = 0x10;
constexpr uint8_t kDVrt = 0x80;
constexpr uint8_t kHourPm = 0x80;

constexpr int64_t kNsPerSecond = 1'000'000'000;
// UIP rises this long before the update at each second boundary.
constexpr int64_t kUipNs = 244'000;

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t host_realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * kNsPerSecond + ts.tv_nsec;
}

}  // namespace

Cmos::Cmos(WallClock clock) : clock_(clock ? std::move(clock) : WallClock(host_realtime_ns)) {
  ram_[kRegA] = kADefault;
  ram_[kRegB] = kBDefault;
  last_c_read_second_ = host_seconds(clock_());
}

void Cmos::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < data.size(); i++) {
    // The index port is write-only.
    data[i] = offset + i == 1 ? read_register(index_) : 0xFF;
  }
}

void Cmos::write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < data.size(); i++) {
    if (offset + i == 0) {
      index_ = data[i] & 0x7F;  // bit 7: NMI disable on a PC; not modelled
    } else if (offset + i == 1) {
      write_register(index_, data[i]);
    }
  }
}

bool Cmos::set_mode() const {
  return (ram_[kRegB] & kBSet) != 0;
}

int64_t Cmos::host_seconds(int64_t ns) const {
  return floor_div(ns, kNsPerSecond);
}

Cmos::DateTime Cmos::guest_time(int64_t ns) const {
  if (set_mode()) return frozen_;
  time_t t = static_cast<time_t>(host_seconds(ns) + offset_seconds_);
  tm parts{};
  if (gmtime_r(&t, &parts) == nullptr) return DateTime{1970, 1, 1, 0, 0, 0, 5};
  return DateTime{int64_t{parts.tm_year} + 1900,
                  parts.tm_mon + 1,
                  parts.tm_mday,
                  parts.tm_hour,
                  parts.tm_min,
                  parts.tm_sec,
                  parts.tm_wday + 1};
}

uint8_t Cmos::encode(int value) const {
  value %= 100;
  if (ram_[kRegB] & kBBinary) return static_cast<uint8_t>(value);
  return static_cast<uint8_t>(((value / 10) << 4) | (value % 10));
}

int Cmos::decode(uint8_t value) const {
  if (ram_[kRegB] & kBBinary) return value;
  return (value >> 4) * 10 + (value & 0x0F);  // invalid BCD digits decode to something harmless
}

uint8_t Cmos::encode_hour(int hour) const {
  if (ram_[kRegB] & kB24Hour) return encode(hour);
  int twelve = hour % 12 == 0 ? 12 : hour % 12;
  return encode(twelve) | (hour >= 12 ? kHourPm : 0);
}

int Cmos::decode_hour(uint8_t value) const {
  if (ram_[kRegB] & kB24Hour) return decode(value);
  return decode(value & ~kHourPm) % 12 + ((value & kHourPm) ? 12 : 0);
}

uint8_t Cmos::read_register(uint8_t index) {
  int64_t ns = clock_();
  switch (index) {
    case kRegSeconds:
      return encode(guest_time(ns).second);
    case kRegMinutes:
      return encode(guest_time(ns).minute);
    case kRegHours:
      return encode_hour(guest_time(ns).hour);
    case kRegWeekday:
      return encode(guest_time(ns).weekday);
    case kRegDay:
      return encode(guest_time(ns).day);
    case kRegMonth:
      return encode(guest_time(ns).month);
    case kRegYear:
      return encode(static_cast<int>(guest_time(ns).year % 100));
    case kRegCentury:
      return encode(static_cast<int>(guest_time(ns).year / 100 % 100));
    case kRegA: {
      int64_t into_second = ns - host_seconds(ns) * kNsPerSecond;
      bool uip = !set_mode() && into_second >= kNsPerSecond - kUipNs;
      return (uip ? kAUip : 0) | ram_[kRegA];
    }
    case kRegC: {
      int64_t second = host_seconds(ns);
      bool update_ended = !set_mode() && second != last_c_read_second_;
      last_c_read_second_ = second;
      bool irqf = update_ended && (ram_[kRegB] & kBUie);
      return (irqf ? kCIrqf : 0) | (update_ended ? kCUf : 0);
    }
    case kRegD:
      return kDVrt;
    default:
      return ram_[index & 0x7F];
  }
}

void Cmos::write_register(uint8_t index, uint8_t value) {
  int64_t ns = clock_();
  DateTime t = guest_time(ns);
  switch (index) {
    case kRegSeconds:
      t.second = decode(value);
      break;
    case kRegMinutes:
      t.minute = decode(value);
      break;
    case kRegHours:
      t.hour = decode_hour(value);
      break;
    case kRegWeekday:
      t.weekday = decode(value);
      break;
    case kRegDay:
      t.day = decode(value);
      break;
    case kRegMonth:
      t.month = decode(value);
      break;
    case kRegYear:
      t.year = t.year / 100 * 100 + decode(value);
      break;
    case kRegCentury:
      t.year = int64_t{decode(value)} * 100 + t.year % 100;
      break;
    case kRegA:
      ram_[kRegA] = value & ~kAUip;  // UIP is read-only
      return;
    case kRegB: {
      bool was_set = set_mode();
      bool now_set = (value & kBSet) != 0;
      if (!was_set && now_set) {
        frozen_ = t;  // t is still the running time: the clock stops here
        value &= ~kBUie;
      }
      ram_[kRegB] = value;
      if (was_set && !now_set) run_from(frozen_, ns);
      return;
    }
    case kRegC:
    case kRegD:
      return;  // read-only
    default:
      // The alarm registers (0x01, 0x03, 0x05) and the general-purpose bytes
      // are plain storage.
      ram_[index & 0x7F] = value;
      return;
  }
  // A clock register changed: while SET it sticks in the frozen copy;
  // otherwise the clock continues from the new value at once.
  if (set_mode()) {
    frozen_ = t;
  } else {
    run_from(t, ns);
  }
}

void Cmos::run_from(const DateTime& t, int64_t ns) {
  tm parts{};
  parts.tm_year = static_cast<int>(t.year - 1900);
  parts.tm_mon = t.month - 1;
  parts.tm_mday = t.day;
  parts.tm_hour = t.hour;
  parts.tm_min = t.minute;
  parts.tm_sec = t.second;
  offset_seconds_ = static_cast<int64_t>(timegm(&parts)) - host_seconds(ns);
}

}  // namespace vessel

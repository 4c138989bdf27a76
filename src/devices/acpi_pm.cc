#include "devices/acpi_pm.h"

#include <time.h>

#include <utility>

#include "base/log.h"
#include "devices/register_bytes.h"

namespace vessel {
namespace {

static_assert(layout::kPortAcpiPm1aCnt == layout::kPortAcpiPm1aEvt + 4 &&
                  layout::kPortAcpiPmTmr == layout::kPortAcpiPm1aEvt + 8,
              "the ACPI PM device assumes its registers in one 12-port block");

constexpr uint64_t kOffStatus = 0;
constexpr uint64_t kOffEnable = 2;
constexpr uint64_t kOffControl = 4;
constexpr uint64_t kOffTimer = 8;

constexpr uint16_t kCntSciEn = 0x0001;
constexpr uint16_t kCntSlpTypShift = 10;
constexpr uint16_t kCntSlpTypMask = 0x7 << kCntSlpTypShift;
constexpr uint16_t kCntSlpEn = 0x2000;
// Bits that hold what was written: BM_RLD (1) and SLP_TYP. GBL_RLS (2) and
// SLP_EN are write-only; SCI_EN is fixed at 1.
constexpr uint16_t kCntStored = 0x0002 | kCntSlpTypMask;

constexpr uint32_t kTimerMask = 0xFF'FFFF;
constexpr uint16_t kPwrBtn = 1u << 8;  // PWRBTN_STS / PWRBTN_EN

uint64_t host_monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

}  // namespace

AcpiPm::AcpiPm(PowerControl& power, IrqChip* irq, MonotonicClock clock)
    : power_(power),
      irq_(irq),
      clock_(clock ? std::move(clock) : MonotonicClock(host_monotonic_ns)),
      start_ns_(clock_()) {}

void AcpiPm::press_power_button() {
  std::lock_guard lock(mu_);
  status_ |= kPwrBtn;
  update_sci_locked();
}

void AcpiPm::update_sci_locked() {
  bool level = (status_ & enable_ & kPwrBtn) != 0;
  if (level == sci_) return;
  sci_ = level;
  if (irq_) irq_->set_level(layout::kIrqAcpiSci, level);
}

uint32_t AcpiPm::timer_value() const {
  uint64_t elapsed = clock_() - start_ns_;
  unsigned __int128 ticks = static_cast<unsigned __int128>(elapsed) * kTimerHz / 1'000'000'000u;
  return static_cast<uint32_t>(ticks) & kTimerMask;
}

void AcpiPm::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  // Registers as little-endian bytes of the block; the timer is sampled once
  // per access so that a 4-byte read is one consistent value.
  bool reads_timer = offset + data.size() > kOffTimer;
  uint32_t timer = reads_timer ? timer_value() : 0;
  uint16_t control = control_ | kCntSciEn;
  for (size_t i = 0; i < data.size(); i++) {
    uint64_t at = offset + i;
    uint8_t value = 0;
    if (at < kOffEnable) {
      value = byte_of(status_, at - kOffStatus);
    } else if (at < kOffControl) {
      value = byte_of(enable_, at - kOffEnable);
    } else if (at < kOffControl + 2) {
      value = byte_of(control, at - kOffControl);
    } else if (at >= kOffTimer) {
      value = byte_of(timer, at - kOffTimer);
    }
    data[i] = value;
  }
}

void AcpiPm::write(uint64_t offset, std::span<const uint8_t> data) {
  bool power_off = false;
  {
    std::lock_guard lock(mu_);
    uint16_t written_control = 0;
    bool control_written = false;
    for (size_t i = 0; i < data.size(); i++) {
      uint64_t at = offset + i;
      uint8_t value = data[i];
      if (at < kOffEnable) {
        // Write 1 to clear.
        status_ &= static_cast<uint16_t>(~(uint16_t{value} << (8 * (at - kOffStatus))));
      } else if (at < kOffControl) {
        enable_ = static_cast<uint16_t>(with_byte(enable_, at - kOffEnable, value));
      } else if (at < kOffControl + 2) {
        written_control =
            static_cast<uint16_t>(with_byte(written_control, at - kOffControl, value));
        control_written = true;
      }
      // Reserved bytes and the read-only timer ignore writes.
    }
    update_sci_locked();
    if (control_written) {
      // Bytes of PM1a_CNT the access did not cover keep their stored value.
      bool low = offset <= kOffControl && offset + data.size() > kOffControl;
      bool high = offset <= kOffControl + 1 && offset + data.size() > kOffControl + 1;
      uint16_t merged =
          static_cast<uint16_t>((low ? written_control & 0x00FF : control_ & 0x00FF) |
                                (high ? written_control & 0xFF00 : control_ & 0xFF00));
      control_ = merged & kCntStored;
      if (merged & kCntSlpEn) {
        uint16_t slp_typ = (merged & kCntSlpTypMask) >> kCntSlpTypShift;
        if (slp_typ == layout::kAcpiS5SlpTyp) {
          power_off = true;
        } else if (!warned_sleep_) {
          warned_sleep_ = true;
          log_warn("guest asked for ACPI sleep type {} (only S5, type {}, is supported): ignored",
                   slp_typ, layout::kAcpiS5SlpTyp);
        }
      }
    }
  }
  if (power_off) power_.request_stop(StopReason::kPowerOff);
}

}  // namespace vessel

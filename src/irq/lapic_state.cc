// Saving and loading a local APIC's registers as a KVM_GET_LAPIC page.
#include <algorithm>
#include <cstring>
#include <iterator>

#include "irq/lapic.h"

namespace vessel {
namespace {

void put32(std::span<uint8_t, Lapic::kStateSize> page, uint32_t offset, uint32_t value) {
  std::memcpy(page.data() + offset, &value, sizeof(value));
}

uint32_t get32(std::span<const uint8_t, Lapic::kStateSize> page, uint32_t offset) {
  uint32_t value;
  std::memcpy(&value, page.data() + offset, sizeof(value));
  return value;
}

constexpr uint32_t kLvtRegs[] = {Lapic::kRegLvtTimer, Lapic::kRegLvtThermal, Lapic::kRegLvtPerf,
                                 Lapic::kRegLvtLint0, Lapic::kRegLvtLint1,   Lapic::kRegLvtError};

}  // namespace

void Lapic::save_state(std::span<uint8_t, kStateSize> page) {
  std::lock_guard lock(mu_);
  std::memset(page.data(), 0, page.size());
  put32(page, kRegId, id_ << 24);
  put32(page, kRegVersion, kVersion);
  put32(page, kRegTpr, task_priority_);
  put32(page, kRegPpr, ppr_locked());
  put32(page, kRegLdr, read_register_locked(kRegLdr));
  put32(page, kRegDfr, dfr_);
  put32(page, kRegSvr, svr_);
  for (uint32_t i = 0; i < 8; i++) {
    put32(page, kRegIsr + 0x10 * i, isr_[i]);
    put32(page, kRegTmr + 0x10 * i, tmr_[i]);
    put32(page, kRegIrr + 0x10 * i, irr_[i]);
  }
  put32(page, kRegEsr, esr_);
  put32(page, kRegIcrLow, icr_low_);
  put32(page, kRegIcrHigh, icr_high_);
  for (uint32_t reg : kLvtRegs) put32(page, reg, lvt(reg));
  put32(page, kRegTimerInitial, timer_initial_);
  put32(page, kRegTimerCurrent, timer_current_count_locked());
  put32(page, kRegTimerDivide, timer_divide_);
}

Status Lapic::load_state(std::span<const uint8_t, kStateSize> page, uint64_t apic_base) {
  std::lock_guard lock(mu_);
  uint64_t known = 0x000F'FFFF'FFFF'F000ull | kApicBaseEnable | kApicBaseExtd | kApicBaseBsp;
  bool enable = apic_base & kApicBaseEnable, extd = apic_base & kApicBaseExtd;
  if ((apic_base & ~known) || (apic_base & 0x000F'FFFF'FFFF'F000ull) != 0xFEE0'0000 ||
      (extd && !enable)) {
    return make_error("saved APIC_BASE {:#x} is not valid for the soft local APIC", apic_base);
  }
  registers_reset_locked();
  enabled_ = enable;
  x2apic_ = extd;
  task_priority_ = static_cast<uint8_t>(get32(page, kRegTpr));
  ldr_ = get32(page, kRegLdr) & 0xFF00'0000;
  dfr_ = get32(page, kRegDfr) | 0x0FFF'FFFF;
  svr_ = get32(page, kRegSvr) & 0x1FF;
  for (uint32_t i = 0; i < 8; i++) {
    isr_[i] = get32(page, kRegIsr + 0x10 * i);
    tmr_[i] = get32(page, kRegTmr + 0x10 * i);
    irr_[i] = get32(page, kRegIrr + 0x10 * i);
  }
  esr_ = get32(page, kRegEsr);
  icr_low_ = get32(page, kRegIcrLow);
  icr_high_ = get32(page, kRegIcrHigh);
  // Writable bits plus Remote IRR of LINT0/1, which a saved page may hold.
  const uint32_t writable[] = {0x700FF, 0x107FF, 0x107FF, 0x1E7FF, 0x1E7FF, 0x100FF};
  for (size_t i = 0; i < std::size(kLvtRegs); i++) {
    lvt(kLvtRegs[i]) = get32(page, kLvtRegs[i]) & writable[i];
  }
  timer_divide_ = get32(page, kRegTimerDivide) & 0xB;
  timer_initial_ = get32(page, kRegTimerInitial);
  uint32_t current = get32(page, kRegTimerCurrent);
  if (timer_mode_locked() != 2 && timer_initial_ != 0 && current != 0) {
    // Resume so that `current` counts remain in this period.
    timer_start_locked();
    uint64_t remaining = uint64_t{std::min(current, timer_initial_)} * divisor_locked();
    if (remaining < timer_period_ns_) {
      timer_start_ns_ -= timer_period_ns_ - remaining;
      timer_arm_locked(timer_start_ns_ + timer_period_ns_);
    }
  }
  refresh_locked();
  return ok_status();
}

}  // namespace vessel

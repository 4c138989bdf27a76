#include "irq/lapic.h"

#include "devices/register_bytes.h"

namespace vessel {
namespace {

constexpr uint32_t kLvtMasked = 1u << 16;
constexpr uint32_t kSvrEnable = 1u << 8;
constexpr uint32_t kSvrWritable = 0x1FF;  // vector and APIC software enable
constexpr uint32_t kLvtModeExtInt = 7u << 8, kLvtModeNmi = 4u << 8, kLvtModeMask = 7u << 8;
// Writable bits of each LVT entry (timer, thermal, perfmon, LINT0, LINT1, error).
constexpr uint32_t kLvtWritable[] = {0x700FF, 0x107FF, 0x107FF, 0x1A7FF, 0x1A7FF, 0x100FF};
constexpr uint32_t kIcrWritable =
    0x000C'CFFF;  // vector, mode, dest mode, level, trigger, shorthand
// ESR bits.
constexpr uint32_t kEsrSendIllegalVector = 1u << 5, kEsrReceiveIllegalVector = 1u << 6;
constexpr uint64_t kApicBaseAddressMask = 0x000F'FFFF'FFFF'F000ull;
constexpr uint64_t kDefaultBase = 0xFEE0'0000;

bool test_bit(const std::array<uint32_t, 8>& bits, int v) {
  return bits[v >> 5] >> (v & 31) & 1;
}
void set_bit(std::array<uint32_t, 8>& bits, int v) {
  bits[v >> 5] |= 1u << (v & 31);
}
void clear_bit(std::array<uint32_t, 8>& bits, int v) {
  bits[v >> 5] &= ~(1u << (v & 31));
}
int highest_bit(const std::array<uint32_t, 8>& bits) {
  for (int i = 7; i >= 0; i--) {
    if (bits[i]) return i * 32 + 31 - __builtin_clz(bits[i]);
  }
  return -1;
}

}  // namespace

Lapic::Lapic(std::mutex& mu, ApicBus& bus, TimeSource& time, uint32_t id, bool bsp, uint64_t tsc_hz)
    : mu_(mu),
      bus_(bus),
      time_(time),
      id_(id),
      bsp_(bsp),
      tsc_hz_(tsc_hz ? tsc_hz : kDefaultTscHz) {
  power_on_reset_locked();
}

Lapic::~Lapic() {
  std::lock_guard lock(mu_);
  timer_stop_locked();
}

void Lapic::registers_reset_locked() {
  timer_stop_locked();
  tsc_deadline_ = 0;
  task_priority_ = 0;
  ldr_ = 0;
  dfr_ = 0xFFFF'FFFF;
  svr_ = 0xFF;
  esr_ = esr_pending_ = 0;
  icr_low_ = icr_high_ = 0;
  isr_.fill(0);
  tmr_.fill(0);
  irr_.fill(0);
  lvt_.fill(kLvtMasked);
  timer_initial_ = 0;
  timer_divide_ = 0;
  ext_int_ = false;
  refresh_locked();
}

void Lapic::power_on_reset_locked() {
  enabled_ = true;
  x2apic_ = false;
  registers_reset_locked();
  if (bsp_) {
    lvt(kRegLvtLint0) = kLvtModeExtInt;
    lvt(kRegLvtLint1) = kLvtModeNmi;
  }
  nmi_ = init_ = sipi_ = false;
  refresh_locked();
}

void Lapic::init_reset() {
  std::lock_guard lock(mu_);
  registers_reset_locked();
  init_ = sipi_ = false;
  refresh_locked();
}

// --- Priorities and pending state ---------------------------------------------

uint8_t Lapic::ppr_locked() const {
  int isrv = highest_bit(isr_);
  uint8_t isr_class = isrv < 0 ? 0 : static_cast<uint8_t>(isrv & 0xF0);
  return (task_priority_ & 0xF0) >= isr_class ? task_priority_ : isr_class;
}

int Lapic::highest_irr_locked() const {
  return highest_bit(irr_);
}

int Lapic::deliverable_irr_locked() const {
  if (!enabled_ || !(svr_ & kSvrEnable)) return -1;
  int v = highest_irr_locked();
  if (v < 0 || (v & 0xF0) <= (ppr_locked() & 0xF0)) return -1;
  return v;
}

bool Lapic::ext_int_accepted_locked() const {
  if (!enabled_) return true;  // APIC bypassed: INTR goes straight to the core
  uint32_t lint0 = lvt_[(kRegLvtLint0 - kRegLvtTimer) >> 4];
  return !(lint0 & kLvtMasked) && (lint0 & kLvtModeMask) == kLvtModeExtInt;
}

void Lapic::refresh_locked() {
  bool pending = nmi_ || init_ || sipi_ || ext_int_ || highest_irr_locked() >= 0 ||
                 (ext_int_accepted_locked() && bus_.ext_int_pending_locked());
  event_hint_.store(pending, std::memory_order_release);
}

void Lapic::wake_locked() {
  refresh_locked();
  if (wakeup_) wakeup_();
}

void Lapic::set_wakeup(std::function<void()> wakeup) {
  std::lock_guard lock(mu_);
  wakeup_ = std::move(wakeup);
}

std::optional<uint8_t> Lapic::pending_vector(bool if_flag) {
  if (!if_flag) return std::nullopt;
  std::lock_guard lock(mu_);
  if (ext_int_ || (ext_int_accepted_locked() && bus_.ext_int_pending_locked())) {
    return bus_.ext_int_peek_locked();
  }
  int v = deliverable_irr_locked();
  if (v < 0) return std::nullopt;
  return static_cast<uint8_t>(v);
}

uint8_t Lapic::acknowledge() {
  std::lock_guard lock(mu_);
  uint8_t vector;
  if (ext_int_ || (ext_int_accepted_locked() && bus_.ext_int_pending_locked())) {
    ext_int_ = false;
    vector = bus_.ext_int_acknowledge_locked();
  } else if (int v = deliverable_irr_locked(); v >= 0) {
    clear_bit(irr_, v);
    set_bit(isr_, v);
    vector = static_cast<uint8_t>(v);
  } else {
    vector = static_cast<uint8_t>(svr_);  // spurious
  }
  refresh_locked();
  return vector;
}

bool Lapic::nmi_pending() {
  std::lock_guard lock(mu_);
  return nmi_;
}

bool Lapic::take_nmi() {
  std::lock_guard lock(mu_);
  bool was = nmi_;
  nmi_ = false;
  refresh_locked();
  return was;
}

bool Lapic::take_init() {
  std::lock_guard lock(mu_);
  bool was = init_;
  init_ = false;
  refresh_locked();
  return was;
}

std::optional<uint8_t> Lapic::take_sipi() {
  std::lock_guard lock(mu_);
  if (!sipi_) return std::nullopt;
  sipi_ = false;
  refresh_locked();
  return sipi_vector_;
}

uint8_t Lapic::tpr() {
  std::lock_guard lock(mu_);
  return task_priority_;
}

void Lapic::set_tpr(uint8_t tpr) {
  std::lock_guard lock(mu_);
  task_priority_ = tpr;
  refresh_locked();
}

void Lapic::ext_int_changed_locked() {
  if (ext_int_accepted_locked() && bus_.ext_int_pending_locked()) {
    wake_locked();
  } else {
    refresh_locked();
  }
}

// --- Messages ------------------------------------------------------------------

bool Lapic::matches_locked(const ApicMessage& m) const {
  if (!enabled_) return false;
  uint32_t broadcast = m.x2apic_dest ? 0xFFFF'FFFF : 0xFF;
  if (m.dest == broadcast) return true;
  if (!m.logical) return m.dest == id_;
  if (x2apic_) {
    // x2APIC logical: cluster in bits 31-16, one bit per APIC in 15-0.
    if (!m.x2apic_dest) return false;
    return (m.dest >> 16) == (id_ >> 4) && (m.dest & 0xFFFF & (1u << (id_ & 0xF)));
  }
  uint8_t dest = static_cast<uint8_t>(m.dest);
  uint8_t logical_id = static_cast<uint8_t>(ldr_ >> 24);
  if ((dfr_ >> 28) == 0xF) return (dest & logical_id) != 0;              // flat model
  return (dest >> 4) == (logical_id >> 4) && (dest & logical_id & 0xF);  // cluster model
}

void Lapic::accept_locked(const ApicMessage& m) {
  if (!enabled_) return;
  switch (m.mode) {
    case DeliveryMode::kFixed:
    case DeliveryMode::kLowestPriority:
      if (m.vector < 16) {
        set_error_locked(kEsrReceiveIllegalVector);
        return;
      }
      if (!(svr_ & kSvrEnable)) return;  // software-disabled: fixed interrupts dropped
      set_bit(irr_, m.vector);
      if (m.level) {
        set_bit(tmr_, m.vector);
      } else {
        clear_bit(tmr_, m.vector);
      }
      break;
    case DeliveryMode::kNmi:
      nmi_ = true;
      break;
    case DeliveryMode::kInit:
      init_ = true;
      break;
    case DeliveryMode::kStartup:
      sipi_ = true;
      sipi_vector_ = m.vector;
      break;
    case DeliveryMode::kExtInt:
      ext_int_ = true;
      break;
    default:  // SMI: no SMM in Vessel
      return;
  }
  wake_locked();
}

void Lapic::set_error_locked(uint32_t bit) {
  esr_pending_ |= bit;
  uint32_t entry = lvt(kRegLvtError);
  if (entry & kLvtMasked) return;
  uint8_t vector = static_cast<uint8_t>(entry);
  if (vector < 16 || !(svr_ & kSvrEnable)) return;
  set_bit(irr_, vector);
  clear_bit(tmr_, vector);
  wake_locked();
}

void Lapic::eoi_locked() {
  int v = highest_bit(isr_);
  if (v < 0) return;
  clear_bit(isr_, v);
  if (test_bit(tmr_, v)) bus_.eoi_broadcast_locked(static_cast<uint8_t>(v));
  refresh_locked();
}

void Lapic::send_icr_locked(uint32_t low, uint32_t dest) {
  ApicMessage m;
  m.vector = static_cast<uint8_t>(low);
  m.mode = static_cast<DeliveryMode>((low >> 8) & 7);
  m.logical = low >> 11 & 1;
  bool assert_level = low >> 14 & 1;
  m.level = low >> 15 & 1;
  m.shorthand = static_cast<DestShorthand>((low >> 18) & 3);
  m.dest = dest;
  m.x2apic_dest = x2apic_;
  switch (m.mode) {
    case DeliveryMode::kFixed:
    case DeliveryMode::kLowestPriority:
      if (m.vector < 16) {
        set_error_locked(kEsrSendIllegalVector);
        return;
      }
      m.level = false;  // IPIs are edge-triggered
      break;
    case DeliveryMode::kInit:
      if (m.level && !assert_level) return;  // INIT level de-assert: no effect on modern CPUs
      break;
    case DeliveryMode::kNmi:
    case DeliveryMode::kStartup:
      break;
    default:  // SMI, ExtINT and reserved modes are not sent
      return;
  }
  bus_.send_ipi_locked(m, id_);
}

// --- Registers -------------------------------------------------------------------

uint32_t Lapic::read_register_locked(uint32_t reg) {
  switch (reg) {
    case kRegId:
      return x2apic_ ? id_ : id_ << 24;
    case kRegVersion:
      return kVersion;
    case kRegTpr:
      return task_priority_;
    case kRegPpr:
      return ppr_locked();
    case kRegLdr:
      return x2apic_ ? ((id_ >> 4) << 16) | (1u << (id_ & 0xF)) : ldr_;
    case kRegDfr:
      return dfr_;
    case kRegSvr:
      return svr_;
    case kRegEsr:
      return esr_;
    case kRegIcrLow:
      return icr_low_;  // delivery status always idle
    case kRegIcrHigh:
      return icr_high_;
    case kRegLvtTimer:
    case kRegLvtThermal:
    case kRegLvtPerf:
    case kRegLvtLint0:
    case kRegLvtLint1:
    case kRegLvtError:
      return lvt(reg);
    case kRegTimerInitial:
      return timer_initial_;
    case kRegTimerCurrent:
      return timer_current_count_locked();
    case kRegTimerDivide:
      return timer_divide_;
    default:
      break;
  }
  if (reg >= kRegIsr && reg < kRegIsr + 0x80) return isr_[(reg - kRegIsr) >> 4];
  if (reg >= kRegTmr && reg < kRegTmr + 0x80) return tmr_[(reg - kRegTmr) >> 4];
  if (reg >= kRegIrr && reg < kRegIrr + 0x80) return irr_[(reg - kRegIrr) >> 4];
  return 0;  // APR, RRD and reserved registers
}

bool Lapic::write_register_locked(uint32_t reg, uint64_t value64) {
  uint32_t value = static_cast<uint32_t>(value64);
  switch (reg) {
    case kRegTpr:
      task_priority_ = static_cast<uint8_t>(value);
      break;
    case kRegEoi:
      eoi_locked();
      break;
    case kRegLdr:
      if (x2apic_) return false;
      ldr_ = value & 0xFF00'0000;
      break;
    case kRegDfr:
      if (x2apic_) return false;
      dfr_ = value | 0x0FFF'FFFF;
      break;
    case kRegSvr:
      svr_ = value & kSvrWritable;
      if (!(svr_ & kSvrEnable)) {
        for (uint32_t& entry : lvt_) entry |= kLvtMasked;
      }
      break;
    case kRegEsr:
      esr_ = esr_pending_;
      esr_pending_ = 0;
      break;
    case kRegIcrLow:
      if (x2apic_) {
        icr_low_ = value & kIcrWritable;
        icr_high_ = static_cast<uint32_t>(value64 >> 32);
        send_icr_locked(icr_low_, icr_high_);
      } else {
        icr_low_ = value & kIcrWritable;
        send_icr_locked(icr_low_, icr_high_ >> 24);
      }
      break;
    case kRegIcrHigh:
      if (x2apic_) return false;
      icr_high_ = value & 0xFF00'0000;
      break;
    case kRegLvtTimer: {
      uint32_t old_mode = timer_mode_locked();
      uint32_t entry = value & kLvtWritable[0];
      if (!(svr_ & kSvrEnable)) entry |= kLvtMasked;
      lvt(reg) = entry;
      if (timer_mode_locked() != old_mode) {
        // A mode change disarms the timer (SDM 11.5.4.1).
        timer_stop_locked();
        timer_initial_ = 0;
        tsc_deadline_ = 0;
      }
      break;
    }
    case kRegLvtThermal:
    case kRegLvtPerf:
    case kRegLvtLint0:
    case kRegLvtLint1:
    case kRegLvtError: {
      uint32_t keep = reg == kRegLvtLint0 || reg == kRegLvtLint1 ? (lvt(reg) & (1u << 14)) : 0;
      uint32_t entry = (value & kLvtWritable[(reg - kRegLvtTimer) >> 4]) | keep;
      if (!(svr_ & kSvrEnable)) entry |= kLvtMasked;
      lvt(reg) = entry;
      break;
    }
    case kRegTimerInitial:
      timer_initial_ = value;
      if (timer_mode_locked() != 2) timer_start_locked();
      break;
    case kRegTimerDivide:
      timer_divide_ = value & 0xB;
      break;
    case kRegSelfIpi:
      if (!x2apic_) return false;
      accept_locked(ApicMessage{.vector = static_cast<uint8_t>(value)});
      break;
    default:
      return false;  // read-only or reserved
  }
  refresh_locked();
  return true;
}

void Lapic::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  uint32_t value = 0;
  if (enabled_ && !x2apic_ && offset < kMmioSize) {
    value = read_register_locked(static_cast<uint32_t>(offset & 0xFF0));
  }
  for (size_t i = 0; i < data.size(); i++) data[i] = byte_of(value, (offset & 0xF) + i);
}

void Lapic::write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mu_);
  if (!enabled_ || x2apic_ || offset >= kMmioSize) return;
  uint32_t reg = static_cast<uint32_t>(offset & 0xFF0);
  // Registers are 32 bits wide at 16-byte strides; a narrower write updates
  // those bytes of the register's current value.
  uint32_t value = data.size() >= 4 && (offset & 0xF) == 0 ? static_cast<uint32_t>(load_le(data))
                                                           : read_register_locked(reg);
  if (data.size() < 4 || (offset & 0xF) != 0) {
    for (size_t i = 0; i < data.size(); i++) value = with_byte(value, (offset & 0xF) + i, data[i]);
  }
  write_register_locked(reg, value);  // writes to read-only registers are ignored
}

// --- MSRs ------------------------------------------------------------------------

Status Lapic::write_apic_base_locked(uint64_t value) {
  if (value & ~(kApicBaseAddressMask | kApicBaseEnable | kApicBaseExtd | kApicBaseBsp)) {
    return make_error("APIC_BASE {:#x}: reserved bits set", value);
  }
  if ((value & kApicBaseAddressMask) != kDefaultBase) {
    return make_error("APIC_BASE {:#x}: relocating the local APIC is not supported", value);
  }
  bool enable = value & kApicBaseEnable, extd = value & kApicBaseExtd;
  if (extd && !enable) return make_error("APIC_BASE {:#x}: x2APIC without enable", value);
  if (x2apic_ && enabled_ && enable && !extd) {
    return make_error("APIC_BASE {:#x}: x2APIC to xAPIC needs a disable first", value);
  }
  if (!enabled_ && extd) return make_error("APIC_BASE {:#x}: disabled to x2APIC directly", value);
  if (!enable) {
    if (enabled_) registers_reset_locked();
    enabled_ = false;
    x2apic_ = false;
  } else {
    enabled_ = true;
    x2apic_ = extd;
  }
  refresh_locked();
  return ok_status();
}

Expected<uint64_t> Lapic::read_msr(uint32_t index) {
  std::lock_guard lock(mu_);
  if (index == kMsrApicBase) {
    return kDefaultBase | (enabled_ ? kApicBaseEnable : 0) | (x2apic_ ? kApicBaseExtd : 0) |
           (bsp_ ? kApicBaseBsp : 0);
  }
  if (index == kMsrTscDeadline) return timer_mode_locked() == 2 ? tsc_deadline_ : 0;
  if (!x2apic_locked()) return make_error("x2APIC MSR {:#x} read outside x2APIC mode", index);
  uint32_t reg = (index - kMsrX2apicFirst) << 4;
  switch (reg) {
    case kRegEoi:
    case kRegSelfIpi:
    case kRegApr:
    case kRegRrd:
    case kRegDfr:
    case kRegIcrHigh:
      return make_error("x2APIC MSR {:#x} cannot be read", index);
    case kRegIcrLow:
      return (uint64_t{icr_high_} << 32) | icr_low_;
    default:
      break;
  }
  bool known = reg == kRegId || reg == kRegVersion || reg == kRegTpr || reg == kRegPpr ||
               reg == kRegLdr || reg == kRegSvr || (reg >= kRegIsr && reg < kRegEsr + 0x10) ||
               (reg >= kRegLvtTimer && reg <= kRegTimerCurrent) || reg == kRegTimerDivide;
  if (!known) return make_error("x2APIC MSR {:#x} is reserved", index);
  return read_register_locked(reg);
}

Status Lapic::write_msr(uint32_t index, uint64_t value) {
  std::lock_guard lock(mu_);
  if (index == kMsrApicBase) return write_apic_base_locked(value);
  if (index == kMsrTscDeadline) {
    write_tsc_deadline_locked(value);
    return ok_status();
  }
  if (!x2apic_locked()) return make_error("x2APIC MSR {:#x} written outside x2APIC mode", index);
  uint32_t reg = (index - kMsrX2apicFirst) << 4;
  if (reg != kRegIcrLow && (value >> 32)) {
    return make_error("x2APIC MSR {:#x}: reserved bits in {:#x}", index, value);
  }
  if ((reg == kRegEoi || reg == kRegEsr) && value != 0) {
    return make_error("x2APIC MSR {:#x}: must be written with 0", index);
  }
  if (reg == kRegSelfIpi && (value & ~0xFFull)) {
    return make_error("x2APIC SELF IPI {:#x}: reserved bits", value);
  }
  if (!write_register_locked(reg, value)) {
    return make_error("x2APIC MSR {:#x} cannot be written", index);
  }
  return ok_status();
}

}  // namespace vessel

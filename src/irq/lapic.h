// A local APIC (Intel SDM vol. 3 ch. 11), one per vCPU of the software CPU:
// ID, version, TPR/PPR, ISR/IRR/TMR, EOI (with broadcast EOI to the IOAPIC for
// level-triggered vectors), LDR/DFR (flat and cluster), SVR software enable,
// ESR, the LVT (timer, thermal, perfmon, LINT0, LINT1, error), the ICR (fixed,
// lowest priority, NMI, INIT, SIPI, with shorthands) and the timer in
// one-shot, periodic and TSC-deadline modes. xAPIC through MMIO (this Device,
// a 4 KiB page at layout::kLapicBase) and x2APIC through MSRs 0x800-0x8FF.
//
// Time: the timer counts at kBusHz (1 GHz: one tick per nanosecond before the
// divide configuration). The guest TSC runs at the `tsc_hz` given at
// construction (default kDefaultTscHz) from the same TimeSource:
//   tsc = now_ns * tsc_hz / 1e9 + tsc_offset
// The soft CPU must compute RDTSC the same way (tsc_now()) and report guest
// writes of IA32_TSC with set_tsc_offset(). A periodic timer's period is at
// least kMinPeriodNs (a guest cannot make the host spin on 1 ns periods); a
// one-shot or TSC deadline already past fires at once.
//
// APIC_BASE (MSR 0x1B): EN (bit 11) and EXTD (bit 10, x2APIC) with the SDM's
// legal transitions (others #GP); BSP (bit 8) is read-only. Relocating the
// base is refused with #GP: the MMIO page stays at layout::kLapicBase.
// Clearing EN resets the APIC's registers (ID kept; every LVT entry masked).
//
// Reset state: as firmware leaves a PC in virtual wire mode (MP spec 3.6.2.2),
// the BSP's LINT0 is ExtINT and LINT1 NMI, unmasked, so the 8259A reaches the
// BSP before an OS programs the APIC; other LVT entries are masked and the
// APIC is software-disabled (SVR 0xFF). An interrupt from the 8259A (ExtINT)
// is accepted when the APIC is hardware-disabled or LINT0 is an unmasked
// ExtINT entry; fixed interrupts are dropped while software-disabled.
//
// Locking: one mutex (`mu`, owned by SoftIrqChip) guards the whole soft
// interrupt system: every LAPIC, the IOAPIC and the 8259A pair. Public
// methods without the _locked suffix take it; *_locked ones expect it held.
// has_pending_event() reads an atomic and takes no lock, for the CPU's hot
// path. The wake-up hook runs with the lock held: it must only signal (set a
// flag, notify a condition variable, kick), never call back into the chip.
// Timer callbacks run on the TimeSource's thread and take the lock; destroy
// the Lapic only when the TimeSource can no longer call it (event loop
// stopped) and no vCPU uses it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>

#include "base/error.h"
#include "base/time_source.h"
#include "bus/device.h"
#include "irq/apic_message.h"

namespace vessel {

class Lapic final : public Device {
 public:
  static constexpr uint64_t kBusHz = 1'000'000'000;
  static constexpr uint64_t kDefaultTscHz = 1'000'000'000;
  static constexpr uint64_t kMmioSize = 0x1000;
  static constexpr uint64_t kMinPeriodNs = 50'000;
  static constexpr uint32_t kVersion = 0x0005'0014;  // version 0x14, 6 LVT entries

  static constexpr uint32_t kMsrApicBase = 0x1B;
  static constexpr uint32_t kMsrTscDeadline = 0x6E0;
  static constexpr uint32_t kMsrX2apicFirst = 0x800;
  static constexpr uint32_t kMsrX2apicLast = 0x8FF;
  static constexpr uint64_t kApicBaseBsp = 1u << 8;
  static constexpr uint64_t kApicBaseExtd = 1u << 10;
  static constexpr uint64_t kApicBaseEnable = 1u << 11;

  // xAPIC register offsets.
  enum Reg : uint32_t {
    kRegId = 0x20,
    kRegVersion = 0x30,
    kRegTpr = 0x80,
    kRegApr = 0x90,
    kRegPpr = 0xA0,
    kRegEoi = 0xB0,
    kRegRrd = 0xC0,
    kRegLdr = 0xD0,
    kRegDfr = 0xE0,
    kRegSvr = 0xF0,
    kRegIsr = 0x100,
    kRegTmr = 0x180,
    kRegIrr = 0x200,
    kRegEsr = 0x280,
    kRegIcrLow = 0x300,
    kRegIcrHigh = 0x310,
    kRegLvtTimer = 0x320,
    kRegLvtThermal = 0x330,
    kRegLvtPerf = 0x340,
    kRegLvtLint0 = 0x350,
    kRegLvtLint1 = 0x360,
    kRegLvtError = 0x370,
    kRegTimerInitial = 0x380,
    kRegTimerCurrent = 0x390,
    kRegTimerDivide = 0x3E0,
    kRegSelfIpi = 0x3F0,  // x2APIC only
  };

  Lapic(std::mutex& mu, ApicBus& bus, TimeSource& time, uint32_t id, bool bsp,
        uint64_t tsc_hz = kDefaultTscHz);
  ~Lapic() override;
  Lapic(const Lapic&) = delete;
  Lapic& operator=(const Lapic&) = delete;

  // --- xAPIC MMIO (offsets inside the 4 KiB page). Ignored in x2APIC mode and
  // while hardware-disabled (reads 0).
  std::string_view name() const override { return "lapic"; }
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // --- MSRs: APIC_BASE, IA32_TSC_DEADLINE and the x2APIC range. An error
  // means the CPU must raise #GP(0).
  static bool handles_msr(uint32_t index) {
    return index == kMsrApicBase || index == kMsrTscDeadline ||
           (index >= kMsrX2apicFirst && index <= kMsrX2apicLast);
  }
  Expected<uint64_t> read_msr(uint32_t index);
  Status write_msr(uint32_t index, uint64_t value);

  // --- The CPU side, between instructions.
  // Cheap, lock-free: false means nothing (interrupt, NMI, INIT, SIPI) is
  // pending, so the CPU need not ask further.
  bool has_pending_event() const { return event_hint_.load(std::memory_order_acquire); }
  // The flag has_pending_event() reads, for a CPU to poll directly.
  const std::atomic<bool>& event_hint() const { return event_hint_; }
  // The vector of the maskable interrupt a CPU with RFLAGS.IF = `if_flag`
  // would take now: the 8259A's next vector (ExtINT), else the highest IRR
  // vector whose priority class is above the PPR's.
  std::optional<uint8_t> pending_vector(bool if_flag);
  // The interrupt-acknowledge cycle: ExtINT acknowledges the 8259A and
  // returns its vector; else the highest deliverable IRR vector moves to the
  // ISR and is returned; with nothing deliverable, the spurious vector (SVR).
  uint8_t acknowledge();
  // NMI, INIT and SIPI received and not yet taken. take_*() clears them.
  // The CPU ignores a SIPI unless it waits for one (after INIT).
  bool nmi_pending();
  bool take_nmi();
  bool take_init();
  std::optional<uint8_t> take_sipi();
  // Called (under the lock) when an event becomes pending, so a vCPU blocked
  // in HLT can be woken. Set before the vCPU runs. The hook runs under the
  // chip's lock, so never call into the chip while holding a lock the hook
  // takes. A halted vCPU: clear its "woken" flag (under its mutex), check
  // pending_vector() / the events WITHOUT that mutex held, and if nothing is
  // due, wait on the mutex + condition variable until the flag is set (a
  // wake-up between the check and the wait is then not lost). Do not spin on
  // has_pending_event(): it stays true while an IRR vector is held back by
  // the PPR or by IF = 0.
  void set_wakeup(std::function<void()> wakeup);
  // INIT (a received INIT IPI the CPU has acted on): registers back to their
  // reset values except the ID and APIC_BASE.
  void init_reset();
  // CR8 reads and writes: TPR[7:4].
  uint8_t tpr();
  void set_tpr(uint8_t tpr);

  // --- State for CpuState::lapic (snapshot, restore, moving a VM between
  // accelerators): the register page in KVM_GET_LAPIC's layout (each 32-bit
  // register at its xAPIC offset, the ID as id << 24, the timer's current
  // count at 0x390). APIC_BASE travels in CpuState::apic_base; the TSC
  // deadline is an MSR (read_msr/write_msr); NMI/INIT/SIPI are CPU events.
  static constexpr size_t kStateSize = 1024;
  void save_state(std::span<uint8_t, kStateSize> page);
  // Loads a saved page. The ID in the page is not applied (an APIC keeps
  // the ID it was created with); a running one-shot or periodic timer resumes
  // with the saved current count. Invalid APIC_BASE values are an error.
  Status load_state(std::span<const uint8_t, kStateSize> page, uint64_t apic_base);

  // --- Guest TSC (see above).
  uint64_t tsc_now();
  void set_tsc_offset(int64_t offset);
  uint64_t tsc_hz() const { return tsc_hz_; }

  // --- The interrupt system's side (lock held).
  uint32_t id() const { return id_; }
  bool x2apic_locked() const { return enabled_ && x2apic_; }
  // Whether this APIC is a destination of `m` (shorthands are the bus's job).
  bool matches_locked(const ApicMessage& m) const;
  // Accepts a message addressed to this APIC.
  void accept_locked(const ApicMessage& m);
  // The 8259A's INTR output may have changed.
  void ext_int_changed_locked();
  uint8_t ppr_locked() const;

 private:
  static constexpr int kLvtCount = 6;
  void power_on_reset_locked();
  void registers_reset_locked();
  uint32_t read_register_locked(uint32_t reg);
  // Returns false for a register that cannot be written (x2APIC: #GP; xAPIC
  // MMIO ignores the write). The xAPIC ID register is read-only here.
  bool write_register_locked(uint32_t reg, uint64_t value);
  Status write_apic_base_locked(uint64_t value);
  void send_icr_locked(uint32_t low, uint32_t dest);
  void eoi_locked();
  void set_error_locked(uint32_t bit);
  bool ext_int_accepted_locked() const;
  int highest_irr_locked() const;
  int deliverable_irr_locked() const;
  void refresh_locked();  // recomputes the hint
  void wake_locked();
  uint32_t& lvt(uint32_t reg) { return lvt_[(reg - kRegLvtTimer) >> 4]; }

  // Timer (lapic_timer.cc).
  uint32_t timer_mode_locked() const;
  uint64_t divisor_locked() const;
  void timer_start_locked();
  void timer_stop_locked();
  void timer_arm_locked(uint64_t deadline_ns);
  void timer_fire_locked();
  void on_timer(uint64_t generation);
  uint32_t timer_current_count_locked();
  void write_tsc_deadline_locked(uint64_t tsc);
  uint64_t tsc_at_locked(uint64_t ns) const;
  uint64_t ns_at_tsc_locked(uint64_t tsc) const;

  std::mutex& mu_;
  ApicBus& bus_;
  TimeSource& time_;
  const uint32_t id_;
  const bool bsp_;
  const uint64_t tsc_hz_;
  int64_t tsc_offset_ = 0;

  bool enabled_ = true;  // APIC_BASE.EN
  bool x2apic_ = false;  // APIC_BASE.EXTD
  uint8_t task_priority_ = 0;
  uint32_t ldr_ = 0, dfr_ = 0xFFFF'FFFF, svr_ = 0xFF;
  uint32_t esr_ = 0, esr_pending_ = 0;
  uint32_t icr_low_ = 0, icr_high_ = 0;
  std::array<uint32_t, 8> isr_{}, tmr_{}, irr_{};
  std::array<uint32_t, kLvtCount> lvt_{};
  uint32_t timer_initial_ = 0, timer_divide_ = 0;
  bool nmi_ = false, init_ = false, sipi_ = false, ext_int_ = false;
  uint8_t sipi_vector_ = 0;

  // Timer state: running for one-shot/periodic while timer_running_;
  // TSC-deadline armed while tsc_deadline_ != 0.
  bool timer_running_ = false;
  uint64_t timer_start_ns_ = 0, timer_period_ns_ = 0, timer_deadline_ns_ = 0;
  uint64_t tsc_deadline_ = 0;
  uint64_t timer_generation_ = 0;
  TimeSource::TimerId timer_id_ = TimeSource::kNoTimer;

  std::function<void()> wakeup_;
  std::atomic<bool> event_hint_{false};
};

}  // namespace vessel

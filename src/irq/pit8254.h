// The 8254 programmable interval timer of a PC (ports 0x40-0x43) and the
// system control port B at 0x61, after the 8254 datasheet. Three counters at
// kInputHz (1.193182 MHz), derived from a TimeSource:
//   counter 0: gate tied high, OUT drives ISA IRQ 0 (GSI 0);
//   counter 1: gate tied high, output unconnected (DRAM refresh on a real PC);
//   counter 2: gate from port 0x61 bit 0, OUT readable at port 0x61 bit 5
//              (the speaker output is not played).
// Control words with RW modes LSB, MSB, LSB-then-MSB, counter latch, the
// read-back command (count and status), binary and BCD counting, modes 0-5.
// Port 0x61: bits 0-3 read back as written (gate 2, speaker data, parity and
// channel check enables), bit 4 toggles every 15.085 us (refresh), bit 5 is
// OUT2, bits 6-7 (NMI sources) read 0.
//
// Deviations: a new count written to a running mode 2/3 counter restarts it
// at once (the 8254 waits for the end of the current period), odd mode 3
// counts read back approximately, and counter 0's interrupts are at least
// kMinPeriodNs apart (missed periods are coalesced into one interrupt), so a
// guest cannot make the host spin.
//
// Interrupts: counter 0 pulses GSI 0 (raise, then lower) at each period of
// modes 2 and 3 and at the terminal count of mode 4; in mode 0 the line goes
// high at the terminal count and low when the counter is reprogrammed.
//
// Locking: its own mutex guards it; it calls IrqChip::set_level with that
// mutex held (so the IrqChip must never call into the PIT). Timer callbacks
// run on the TimeSource's thread. Destroy it only after the TimeSource can no
// longer call it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>

#include "base/pc_layout.h"
#include "base/time_source.h"
#include "bus/device.h"
#include "irq/irq_chip.h"

namespace vessel {

class Pit8254 {
 public:
  static constexpr uint64_t kInputHz = 1'193'182;
  static constexpr uint64_t kMinPeriodNs = 50'000;
  static constexpr uint16_t kPortBase = layout::kPortPit;
  static constexpr uint32_t kPortCount = 4;
  static constexpr uint16_t kPortControlB = layout::kPortSysCtrlB;

  Pit8254(IrqChip& irq, uint32_t gsi, TimeSource& time);
  ~Pit8254();
  Pit8254(const Pit8254&) = delete;
  Pit8254& operator=(const Pit8254&) = delete;

  // Port access at absolute port numbers (0x40-0x43, 0x61).
  uint8_t read_port(uint16_t port);
  void write_port(uint16_t port, uint8_t value);

  // Devices to register on an IoBus: the counters (kPortBase, kPortCount
  // ports) and port B (kPortControlB, one port). They keep `pit` alive.
  static std::shared_ptr<Device> counter_ports(std::shared_ptr<Pit8254> pit);
  static std::shared_ptr<Device> control_b_port(std::shared_ptr<Pit8254> pit);

 private:
  struct Counter {
    uint8_t mode = 0, rw = 3;  // rw: 1 LSB, 2 MSB, 3 LSB then MSB
    bool bcd = false;
    uint32_t count = 0x10000;  // N (0 written means 65536, or 10000 in BCD)
    bool loaded = false;       // a count was written since the control word
    bool gate = true;
    bool counting = false;      // the clock advances the counter
    bool triggered = false;     // modes 1 and 5: a gate edge started the count
    uint64_t base_ns = 0;       // when counting last (re)started
    uint64_t frozen_ticks = 0;  // ticks counted before base_ns (gate pauses)
    bool write_msb_next = false, read_msb_next = false;
    uint8_t write_lsb = 0;
    bool count_latched = false, status_latched = false;
    uint16_t latched_count = 0;
    uint8_t latched_status = 0;
    bool null_count = true;
  };

  uint64_t ticks_locked(const Counter& c, uint64_t now) const;
  uint16_t count_value_locked(const Counter& c, uint64_t now) const;
  bool out_locked(const Counter& c, uint64_t now) const;
  uint8_t status_locked(const Counter& c, uint64_t now) const;
  uint8_t read_counter_locked(Counter& c);
  void write_counter_locked(int index, uint8_t value);
  void load_count_locked(int index, uint32_t value);
  void write_control_locked(uint8_t value);
  void set_gate_locked(int index, bool gate);
  // Counter 0: schedules the next interrupt event (or none).
  void schedule_locked();
  void on_timer(uint64_t generation);
  void set_irq_locked(bool level);

  IrqChip& irq_;
  const uint32_t gsi_;
  TimeSource& time_;
  std::mutex mu_;
  std::array<Counter, 3> counters_;
  uint8_t control_b_ = 0;  // bits 0-3 of port 0x61
  bool irq_level_ = false;
  uint64_t last_irq_ns_ = 0;  // counter 0's last interrupt
  uint64_t timer_generation_ = 0;
  TimeSource::TimerId timer_id_ = TimeSource::kNoTimer;
};

}  // namespace vessel

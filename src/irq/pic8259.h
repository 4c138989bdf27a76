// The PC's pair of 8259A programmable interrupt controllers (master at ports
// 0x20-0x21, slave at 0xA0-0xA1 cascaded on the master's IR2) with the
// edge/level control registers (ELCR, ports 0x4D0-0x4D1), after the 8259A
// datasheet: ICW1-ICW4 initialisation, OCW1 mask, OCW2 EOI (non-specific,
// specific, rotating) and set-priority, OCW3 IRR/ISR read, poll and special
// mask mode, auto-EOI (with rotation), special fully nested mode.
//
// Before its first ICW1 a chip masks every input (the 8259A's state is
// undefined until initialised; no firmware initialises it for the guest).
// Not modelled: MCS-80/85 mode (the vector is always base + IR, as in 8086
// mode), buffered mode, and the interaction of the datasheet's "IR must stay
// high until the first INTA" (a request raised then lowered before the
// acknowledge still interrupts, which is what pulse-style devices need).
//
// Locking: the pair has no lock of its own. Every method ending in _locked
// expects the caller to hold the interrupt system's lock (`mu` given at
// construction); the port Devices from port_device() take it themselves.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "base/pc_layout.h"
#include "bus/device.h"

namespace vessel {

class PicPair {
 public:
  static constexpr uint16_t kPortMaster = layout::kPortPic1;
  static constexpr uint16_t kPortSlave = layout::kPortPic2;
  static constexpr uint16_t kPortElcr = layout::kPortElcr;
  static constexpr uint32_t kPortCount = 2;  // each of the three windows

  // `on_intr_change` runs (under `mu`) whenever the master's INTR output may
  // have changed; it must not call back into the pair except *_locked reads.
  PicPair(std::mutex& mu, std::function<void()> on_intr_change);

  // Drives ISA IRQ line `irq` (0-15; others ignored).
  void set_irq_locked(uint32_t irq, bool level);
  // The master's INTR output.
  bool intr_locked() const;
  // The vector an acknowledge would return now, without acknowledging.
  uint8_t peek_vector_locked() const;
  // The INTA cycle: the vector of the highest-priority request (ISR set,
  // IRR cleared for edge requests, slave acknowledged through the cascade);
  // with nothing pending, the spurious IR7 vector of the chip concerned.
  uint8_t acknowledge_locked();

  // Port access at absolute port numbers (0x20/0x21, 0xA0/0xA1, 0x4D0/0x4D1).
  uint8_t read_port_locked(uint16_t port);
  void write_port_locked(uint16_t port, uint8_t value);

  // A Device for the two ports at `base` (one of the kPort* constants), to
  // register on an IoBus with length kPortCount. It keeps `pair` alive.
  static std::shared_ptr<Device> port_device(std::shared_ptr<PicPair> pair, uint16_t base);

 private:
  struct Chip {
    uint8_t irr = 0, isr = 0, imr = 0;
    uint8_t lines = 0;  // input levels, for edge detection
    uint8_t elcr = 0, elcr_mask = 0;
    uint8_t base = 0;          // ICW2 vector base (bits 7-3)
    uint8_t priority_add = 0;  // IR with the highest priority
    uint8_t init_step = 0;     // 0: operational; 2, 3, 4: expecting ICW2/ICW3/ICW4
    bool icw4_needed = false, single = false, ltim = false;
    bool auto_eoi = false, rotate_on_auto_eoi = false, special_fully_nested = false;
    bool special_mask = false, read_isr = false, poll = false;
    bool is_master = false;

    bool level_triggered(int irq) const { return ltim || (elcr >> irq) & 1; }
    void set_input(int irq, bool level);
    // The IR that would interrupt now, or -1.
    int pending_irq() const;
    void clear_highest_isr(bool rotate);
    void write_command(uint8_t value);  // even port
    void write_data(uint8_t value);     // odd port
    int ack(bool set_isr);              // IR acknowledged (ISR set), -1 for none
  };

  // Feeds the slave's output to the master's IR2 and reports INTR changes.
  void update_locked();
  uint8_t poll_read_locked(Chip& chip);

  std::mutex& mu_;
  std::function<void()> on_intr_change_;
  Chip master_, slave_;
  bool last_intr_ = false;
};

}  // namespace vessel

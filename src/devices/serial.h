// A 16550A UART (COM1 on a PC): the full register set with 16-byte receive
// FIFO, the interrupt identification priorities of the datasheet, loopback,
// and the PC convention that MCR.OUT2 gates the interrupt line.
//
// Transmission is immediate: each byte the guest writes to THR is handed to
// the output callback at once, so THR and the transmitter are always empty
// (LSR.THRE and LSR.TEMT stay set). Reception comes from the host through
// receive(), which takes only what fits in the receive FIFO; the host keeps
// the rest and may use set_rx_space_callback() to learn when to offer it again.
//
// Locking: register state is guarded by one mutex. The IRQ line is driven
// (IrqChip::set_level, only on a change) with that mutex held, so edges reach
// the chip in the order the state changed; an IrqChip must therefore never
// call back into a device. The output callback is called WITHOUT the state
// mutex, under a second mutex that only serialises output (so the callback is
// never called concurrently and bytes keep their order); it may call
// receive()/can_receive() (an echo backend), but must not write this device's
// registers. The rx-space callback is called with no lock held.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string_view>

#include "bus/device.h"
#include "irq/irq_chip.h"

namespace vessel {

class Serial16550 : public Device {
 public:
  using OutputFn = std::function<void(std::span<const uint8_t>)>;
  static constexpr uint32_t kPortCount = 8;  // register at layout::kPortCom1
  static constexpr size_t kFifoSize = 16;

  // `gsi` is the line the UART drives (layout::kIrqCom1 for COM1). `output`
  // receives the bytes the guest transmits; it may be empty (bytes dropped).
  Serial16550(IrqChip& irq, uint32_t gsi, OutputFn output);

  std::string_view name() const override { return "serial16550"; }
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Host -> guest: pushes bytes into the receive FIFO (one byte when the
  // guest has FIFOs disabled) and returns how many were taken. Takes nothing
  // in loopback mode, where the receiver is cut off from the line.
  size_t receive(std::span<const uint8_t> bytes);
  // Whether receive() would take at least one byte now.
  bool can_receive() const;
  // Called (with no lock held) after receive() took fewer bytes than offered,
  // as soon as the guest has made room again. Set it before the guest runs.
  void set_rx_space_callback(std::function<void()> callback);

 private:
  uint8_t read_register(uint64_t reg);
  void write_register(uint64_t reg, uint8_t value);  // not THR in normal mode
  void transmit(uint8_t byte);

  bool fifo_enabled() const { return (fcr_ & 0x01) != 0; }
  bool loopback() const { return (mcr_ & 0x10) != 0; }
  size_t rx_capacity() const { return fifo_enabled() ? kFifoSize : 1; }
  size_t rx_trigger_level() const;
  void clear_rx();
  void push_rx(uint8_t byte);  // loopback: may overrun
  uint8_t lsr() const;
  uint8_t modem_status_lines() const;  // MSR bits 7:4: the modem inputs as they read now
  void set_mcr(uint8_t value);
  uint8_t interrupt_id() const;  // IIR bits 3:0
  void update_irq();
  // Takes the pending rx-space notification, if the host waits and room exists.
  std::function<void()> take_rx_space_notification();

  IrqChip& irq_;
  const uint32_t gsi_;
  const OutputFn output_;

  std::mutex output_mu_;  // serialises output_ calls; taken before mu_
  mutable std::mutex mu_;
  uint8_t ier_ = 0;
  uint8_t lcr_ = 0;
  uint8_t mcr_ = 0;
  uint8_t fcr_ = 0;          // FIFO enable (bit 0) and trigger level (bits 7:6)
  uint8_t line_errors_ = 0;  // LSR error bits (only OE can happen); cleared by reading LSR
  uint8_t msr_deltas_ = 0;   // MSR bits 3:0; cleared by reading MSR
  uint8_t scr_ = 0;
  uint8_t dll_ = 0x0C;  // 9600 baud from the 1.8432 MHz clock
  uint8_t dlm_ = 0;
  bool thre_pending_ = false;  // THR-empty interrupt latched (cleared by IIR read or THR write)
  std::array<uint8_t, kFifoSize> rx_{};
  size_t rx_head_ = 0;
  size_t rx_count_ = 0;
  uint8_t last_rbr_ = 0;  // RBR reads this when the FIFO is empty
  bool irq_level_ = false;
  bool host_waiting_ = false;  // receive() refused bytes; notify when room appears
  std::function<void()> rx_space_callback_;
};

}  // namespace vessel

// The i8042 keyboard controller of a PC (ports 0x60 data, 0x64 status and
// command), with no keyboard or mouse behind it. It exists so that guests can
// probe it without errors and reset the machine through it: controller
// command byte and internal RAM (0x20-0x3F / 0x60-0x7F), self test 0xAA ->
// 0x55, interface test 0xAB -> 0x00, port enable/disable (0xAD/0xAE,
// 0xA7/0xA8), output port (0xD0/0xD1; clearing bit 0 resets), 0xF0-0xFF pulse
// (0xFE pulses the reset line) -> PowerControl::request_stop(kReset).
//
// There is no AUX (mouse) channel: 0xA9 answers 0x01 ("clock line stuck"),
// and the AUX loopback command 0xD3 returns its byte as keyboard data, which
// Linux reads as "no working AUX port" and moves on without waiting. Bytes
// written for the keyboard or mouse device are dropped (nothing answers), and
// the controller raises no interrupts (it takes no IrqChip): command replies
// are polled through the status register, as every driver does.
//
// The two ports are not contiguous (0x61 belongs to the PIT's port B), and a
// bus range passes only the offset inside itself, so the controller is not a
// Device itself: register the two Devices from data_port() and
// command_port(), one port each.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>

#include "bus/device.h"
#include "devices/power_control.h"

namespace vessel {

class I8042 {
 public:
  explicit I8042(PowerControl& power);

  // Devices for layout::kPortI8042Data and layout::kPortI8042Cmd (length 1
  // each); each keeps `controller` alive.
  static std::shared_ptr<Device> data_port(std::shared_ptr<I8042> controller);
  static std::shared_ptr<Device> command_port(std::shared_ptr<I8042> controller);

  uint8_t read_data();
  void write_data(uint8_t value);
  uint8_t read_status();
  void write_command(uint8_t command);

 private:
  // Puts a reply in the output buffer (replacing an unread one).
  void reply(uint8_t value);
  // Handles a command under the lock; returns whether it resets the machine.
  bool run_command(uint8_t command);

  PowerControl& power_;
  std::mutex mu_;
  std::array<uint8_t, 32> ram_{};  // internal RAM; byte 0 is the controller command byte
  uint8_t output_ = 0;             // output buffer (kept after reads: reads repeat it)
  bool output_full_ = false;
  bool last_write_was_command_ = false;  // status bit 3
  uint8_t pending_command_ = 0;          // command waiting for its data byte, or 0
  uint8_t output_port_ = 0x03;           // reset line not asserted (bit 0), A20 on (bit 1)
};

}  // namespace vessel

#include "devices/i8042.h"

#include <cstring>
#include <utility>

#include "base/log.h"

namespace vessel {
namespace {

// Controller command byte bits.
constexpr uint8_t kCcbKbdInt = 0x01;
constexpr uint8_t kCcbSystemFlag = 0x04;
constexpr uint8_t kCcbKbdDisable = 0x10;
constexpr uint8_t kCcbAuxDisable = 0x20;
constexpr uint8_t kCcbTranslate = 0x40;
// As a BIOS leaves it after POST: translation on, keyboard interrupt on,
// self test passed (system flag), AUX port disabled since there is none.
constexpr uint8_t kCcbInitial = kCcbTranslate | kCcbAuxDisable | kCcbSystemFlag | kCcbKbdInt;

// Status register bits.
constexpr uint8_t kStatusOutputFull = 0x01;
constexpr uint8_t kStatusSystemFlag = 0x04;
constexpr uint8_t kStatusCommand = 0x08;    // last write went to port 0x64
constexpr uint8_t kStatusNotLocked = 0x10;  // keyboard not inhibited by the keylock

constexpr uint8_t kOutputPortReset = 0x01;  // active low: clearing it resets the CPU

// A Device for one of the two ports, sharing ownership of the controller.
class I8042Port : public Device {
 public:
  I8042Port(std::shared_ptr<I8042> controller, bool command)
      : controller_(std::move(controller)), command_(command) {}
  std::string_view name() const override { return command_ ? "i8042-command" : "i8042-data"; }
  void read(uint64_t, std::span<uint8_t> data) override {
    uint8_t value = command_ ? controller_->read_status() : controller_->read_data();
    std::memset(data.data(), value, data.size());
  }
  void write(uint64_t, std::span<const uint8_t> data) override {
    if (data.empty()) return;
    if (command_) {
      controller_->write_command(data[0]);
    } else {
      controller_->write_data(data[0]);
    }
  }

 private:
  std::shared_ptr<I8042> controller_;
  bool command_;
};

}  // namespace

I8042::I8042(PowerControl& power) : power_(power) {
  ram_[0] = kCcbInitial;
}

std::shared_ptr<Device> I8042::data_port(std::shared_ptr<I8042> controller) {
  return std::make_shared<I8042Port>(std::move(controller), false);
}

std::shared_ptr<Device> I8042::command_port(std::shared_ptr<I8042> controller) {
  return std::make_shared<I8042Port>(std::move(controller), true);
}

uint8_t I8042::read_data() {
  std::lock_guard lock(mu_);
  output_full_ = false;
  return output_;
}

uint8_t I8042::read_status() {
  std::lock_guard lock(mu_);
  // Input buffer full (bit 1) never shows: every write is handled at once.
  return (output_full_ ? kStatusOutputFull : 0) |
         ((ram_[0] & kCcbSystemFlag) ? kStatusSystemFlag : 0) |
         (last_write_was_command_ ? kStatusCommand : 0) | kStatusNotLocked;
}

void I8042::reply(uint8_t value) {
  output_ = value;
  output_full_ = true;
}

void I8042::write_data(uint8_t value) {
  bool reset = false;
  {
    std::lock_guard lock(mu_);
    last_write_was_command_ = false;
    uint8_t command = std::exchange(pending_command_, 0);
    if (command >= 0x60 && command <= 0x7F) {
      ram_[command & 0x1F] = value;
    } else if (command == 0xD1) {
      output_port_ = value;
      reset = !(value & kOutputPortReset);
    } else if (command == 0xD2 || command == 0xD3) {
      // Write keyboard / AUX output buffer: the byte comes back as if the
      // device had sent it; with no AUX channel both come back as keyboard data.
      reply(value);
    }
    // Otherwise (0xD4, or no command) the byte is for the keyboard or mouse,
    // and there is neither: it is dropped.
  }
  if (reset) power_.request_stop(StopReason::kReset);
}

void I8042::write_command(uint8_t command) {
  bool reset;
  {
    std::lock_guard lock(mu_);
    last_write_was_command_ = true;
    pending_command_ = 0;  // a new command abandons one still waiting for data
    reset = run_command(command);
  }
  if (reset) power_.request_stop(StopReason::kReset);
}

bool I8042::run_command(uint8_t command) {
  if (command >= 0x20 && command <= 0x3F) {
    reply(ram_[command & 0x1F]);
    return false;
  }
  if ((command >= 0x60 && command <= 0x7F) || command == 0xD1 || command == 0xD2 ||
      command == 0xD3 || command == 0xD4) {
    pending_command_ = command;
    return false;
  }
  if (command >= 0xF0) {
    // Pulse output port lines 3:0 low for 6 us: bit 0 is the reset line.
    return !(command & 0x01);
  }
  switch (command) {
    case 0xA7:  // disable AUX interface
      ram_[0] |= kCcbAuxDisable;
      break;
    case 0xA8:  // enable AUX interface
      ram_[0] &= ~kCcbAuxDisable;
      break;
    case 0xA9:  // AUX interface test: there is no AUX channel
      reply(0x01);
      break;
    case 0xAA:  // controller self test
      ram_[0] |= kCcbSystemFlag;
      reply(0x55);
      break;
    case 0xAB:  // keyboard interface test: no error
      reply(0x00);
      break;
    case 0xAD:  // disable keyboard interface
      ram_[0] |= kCcbKbdDisable;
      break;
    case 0xAE:  // enable keyboard interface
      ram_[0] &= ~kCcbKbdDisable;
      break;
    case 0xD0:  // read output port
      reply(output_port_);
      break;
    default:
      log_debug("i8042: ignoring unknown controller command {:#04x}", command);
      break;
  }
  return false;
}

}  // namespace vessel

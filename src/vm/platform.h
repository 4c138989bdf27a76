// The PC platform devices of a VM and their places on the bus: COM1, the
// i8042, CMOS/RTC, the ACPI PM block, the reset register, PCI bus 0 with its
// host bridge (ports 0xCF8-0xCFF and ECAM), and the opt-in debug-exit port
// and test device. kvmtool-style: each device is created and
// registered here, so the VM assembly stays short.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "base/error.h"
#include "bus/io_bus.h"
#include "devices/power_control.h"
#include "irq/irq_chip.h"

namespace vessel {

class PciBus;

struct PlatformConfig {
  bool debug_exit = false;
  bool test_device = true;  // the test guests' device; harmless for other guests
};

class Platform {
 public:
  static Expected<std::unique_ptr<Platform>> create(const PlatformConfig& config, IoBus& bus,
                                                    IrqChip& irq, PowerControl& power);
  ~Platform();

  // Where the console UART's output goes.
  void set_console_output(std::function<void(std::span<const uint8_t>)> out);
  // Offers host input to the console UART; returns how many bytes it took.
  size_t console_input(std::span<const uint8_t> bytes);
  // PCI bus 0, where PCI devices (virtio) are added before the guest runs.
  PciBus& pci();
  // Presses the ACPI power button (any thread).
  void press_power_button();

 private:
  struct Devices;
  explicit Platform(std::unique_ptr<Devices> d);
  std::unique_ptr<Devices> d_;
};

}  // namespace vessel

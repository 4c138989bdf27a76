#include "vm/platform.h"

#include "base/pc_layout.h"
#include "devices/acpi_pm.h"
#include "devices/cmos.h"
#include "devices/debug_exit.h"
#include "devices/i8042.h"
#include "devices/reset_control.h"
#include "devices/serial.h"
#include "devices/test_device.h"
#include "pci/pci_bus.h"
#include "pci/pci_host.h"

namespace vessel {

struct Platform::Devices {
  // Set before the guest runs and not changed after, so the UART's output
  // path reads it without a lock.
  std::function<void(std::span<const uint8_t>)> console_out;
  std::shared_ptr<Serial16550> com1;
  std::shared_ptr<AcpiPm> pm;
  std::unique_ptr<PciBus> pci;
};

Platform::Platform(std::unique_ptr<Devices> d) : d_(std::move(d)) {}
Platform::~Platform() = default;

Expected<std::unique_ptr<Platform>> Platform::create(const PlatformConfig& config, IoBus& bus,
                                                     IrqChip& irq, PowerControl& power) {
  auto d = std::make_unique<Devices>();
  Devices* raw = d.get();
  d->com1 = std::make_shared<Serial16550>(irq, layout::kIrqCom1, [raw](std::span<const uint8_t> b) {
    if (raw->console_out) raw->console_out(b);
  });
  VESSEL_TRY(bus.add_pio(layout::kPortCom1, Serial16550::kPortCount, d->com1));

  auto kbc = std::make_shared<I8042>(power);
  VESSEL_TRY(bus.add_pio(layout::kPortI8042Data, 1, I8042::data_port(kbc)));
  VESSEL_TRY(bus.add_pio(layout::kPortI8042Cmd, 1, I8042::command_port(kbc)));

  VESSEL_TRY(bus.add_pio(layout::kPortCmos, 2, std::make_shared<Cmos>()));
  d->pm = std::make_shared<AcpiPm>(power, &irq);
  VESSEL_TRY(bus.add_pio(AcpiPm::kPortBase, AcpiPm::kPortCount, d->pm));
  // PCI: bus 0 with the host bridge at 00:00.0, reached through ports
  // 0xCF8-0xCFF (which also pass byte accesses at 0xCF9 to the reset control
  // register) and through ECAM.
  static_assert(layout::kPortResetCf9 == layout::kPortPciConfig + 1);
  d->pci = std::make_unique<PciBus>(bus, irq);
  VESSEL_TRY(d->pci->add(0, std::make_shared<PciHostBridge>()));
  VESSEL_TRY(
      bus.add_pio(layout::kPortPciConfig, PciConfigIo::kPortCount,
                  std::make_shared<PciConfigIo>(*d->pci, std::make_shared<ResetControl>(power))));
  VESSEL_TRY(
      bus.add_mmio(layout::kPciEcamBase, layout::kPciEcamSize, std::make_shared<PciEcam>(*d->pci)));

  if (config.debug_exit) {
    VESSEL_TRY(bus.add_pio(layout::kPortDebugExit, DebugExit::kPortCount,
                           std::make_shared<DebugExit>(power)));
  }
  if (config.test_device) {
    auto test = std::make_shared<TestDevice>(irq);
    VESSEL_TRY(bus.add_pio(layout::kPortTestDevice, TestDevice::kPortCount, test));
    VESSEL_TRY(bus.add_mmio(layout::kTestDeviceMmio, layout::kTestDeviceMmioSize, test));
  }
  return std::unique_ptr<Platform>(new Platform(std::move(d)));
}

void Platform::set_console_output(std::function<void(std::span<const uint8_t>)> out) {
  d_->console_out = std::move(out);
}

PciBus& Platform::pci() {
  return *d_->pci;
}

void Platform::press_power_button() {
  d_->pm->press_power_button();
}

size_t Platform::console_input(std::span<const uint8_t> bytes) {
  return d_->com1->receive(bytes);
}

}  // namespace vessel

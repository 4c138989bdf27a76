// The PCI host bridge: the bridge function itself at 00:00.0 (class 06/00)
// and the two ways the CPU reaches configuration space.
//
// - Configuration mechanism #1 (PCI Local Bus 3.0, 3.2.2.3.2): CONFIG_ADDRESS
//   is the dword at port 0xCF8 (bit 31 enable, bus 23:16, device 15:11,
//   function 10:8, register 7:2); CONFIG_DATA at 0xCFC-0xCFF reaches that
//   dword, with byte and word accesses at their offsets. Only dword accesses
//   at 0xCF8 reach CONFIG_ADDRESS; a byte at 0xCF9 goes to the reset control
//   register (as on Intel chipsets), other accesses there read all ones.
// - ECAM (PCI Express Base 4.0, 7.2.2): a memory window where the offset
//   encodes bus 27:20, device 19:15, function 14:12 and register 11:0; the
//   window is 1 MiB, bus 0 only.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>

#include "bus/device.h"
#include "pci/pci_bus.h"
#include "pci/pci_device.h"

namespace vessel {

class PciHostBridge final : public PciDevice {
 public:
  // Red Hat's generic PCIe host bridge ID (as used by virtual platforms);
  // no Linux quirk applies to it.
  static constexpr uint16_t kVendor = 0x1B36;
  static constexpr uint16_t kDevice = 0x0008;

  PciHostBridge();
};

class PciConfigIo final : public Device {
 public:
  static constexpr uint32_t kPortCount = 8;  // 0xCF8-0xCFF
  static constexpr uint32_t kEnable = 1u << 31;

  // `cf9` receives byte accesses at 0xCF9 (the reset control register); may
  // be null.
  PciConfigIo(PciBus& bus, std::shared_ptr<Device> cf9) : bus_(bus), cf9_(std::move(cf9)) {}

  std::string_view name() const override { return "pci-config-io"; }
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  uint32_t address() const;

 private:
  // Decodes CONFIG_ADDRESS for a data access at `byte` (0-3) of CONFIG_DATA;
  // false when the enable bit is clear.
  bool target(uint64_t byte, uint32_t* bus, uint32_t* dev, uint32_t* fn, uint32_t* reg) const;

  PciBus& bus_;
  std::shared_ptr<Device> cf9_;
  mutable std::mutex mu_;
  uint32_t address_ = 0;
};

class PciEcam final : public Device {
 public:
  explicit PciEcam(PciBus& bus) : bus_(bus) {}

  std::string_view name() const override { return "pci-ecam"; }
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  PciBus& bus_;
};

}  // namespace vessel

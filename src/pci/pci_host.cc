#include "pci/pci_host.h"

#include <cstring>

#include "devices/register_bytes.h"

namespace vessel {

namespace {

// CONFIG_ADDRESS: bits 30:24 are reserved (read 0), and so are bits 1:0.
constexpr uint32_t kAddressMask = 0x80FF'FFFC;
constexpr uint64_t kDataOffset = 4;
constexpr uint64_t kCf9Offset = 1;

}  // namespace

PciHostBridge::PciHostBridge()
    : PciDevice("host-bridge", PciIds{.vendor = kVendor,
                                      .device = kDevice,
                                      .class_code = pci::kClassHostBridge,
                                      .revision = 0,
                                      .subsystem_vendor = kVendor,
                                      .subsystem = kDevice}) {}

uint32_t PciConfigIo::address() const {
  std::lock_guard lock(mu_);
  return address_;
}

bool PciConfigIo::target(uint64_t byte, uint32_t* bus, uint32_t* dev, uint32_t* fn,
                         uint32_t* reg) const {
  uint32_t a = address();
  if (!(a & kEnable)) return false;
  *bus = (a >> 16) & 0xFF;
  *dev = (a >> 11) & 0x1F;
  *fn = (a >> 8) & 0x7;
  *reg = (a & 0xFC) + static_cast<uint32_t>(byte);
  return true;
}

void PciConfigIo::read(uint64_t offset, std::span<uint8_t> data) {
  if (offset >= kDataOffset) {
    uint32_t bus, dev, fn, reg;
    if (!target(offset - kDataOffset, &bus, &dev, &fn, &reg)) {
      std::memset(data.data(), 0xFF, data.size());
      return;
    }
    bus_.config_read(bus, dev, fn, reg, data);
    return;
  }
  if (offset == 0 && data.size() == 4) {
    store_le(data, address());
    return;
  }
  if (offset == kCf9Offset && data.size() == 1 && cf9_) {
    cf9_->read(0, data);
    return;
  }
  std::memset(data.data(), 0xFF, data.size());
}

void PciConfigIo::write(uint64_t offset, std::span<const uint8_t> data) {
  if (offset >= kDataOffset) {
    uint32_t bus, dev, fn, reg;
    if (target(offset - kDataOffset, &bus, &dev, &fn, &reg))
      bus_.config_write(bus, dev, fn, reg, data);
    return;
  }
  if (offset == 0 && data.size() == 4) {
    std::lock_guard lock(mu_);
    address_ = static_cast<uint32_t>(load_le(data)) & kAddressMask;
    return;
  }
  if (offset == kCf9Offset && data.size() == 1 && cf9_) cf9_->write(0, data);
}

void PciEcam::read(uint64_t offset, std::span<uint8_t> data) {
  uint32_t reg = offset & 0xFFF;
  if (reg + data.size() > pci::kExtConfigSize) {  // crosses into the next function
    std::memset(data.data(), 0xFF, data.size());
    return;
  }
  bus_.config_read(static_cast<uint32_t>(offset >> 20), (offset >> 15) & 0x1F, (offset >> 12) & 7,
                   reg, data);
}

void PciEcam::write(uint64_t offset, std::span<const uint8_t> data) {
  uint32_t reg = offset & 0xFFF;
  if (reg + data.size() > pci::kExtConfigSize) return;
  bus_.config_write(static_cast<uint32_t>(offset >> 20), (offset >> 15) & 0x1F, (offset >> 12) & 7,
                    reg, data);
}

}  // namespace vessel

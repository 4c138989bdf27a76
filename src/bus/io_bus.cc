#include "bus/io_bus.h"

#include <cstring>
#include <mutex>

namespace vessel {

Status IoBus::insert(Map& map, uint64_t base, uint64_t length, std::shared_ptr<Device> device,
                     const char* space) {
  if (length == 0)
    return make_error("{} range for {} at {:#x} is empty", space, device->name(), base);
  if (base + length < base)
    return make_error("{} range for {} at {:#x} wraps around", space, device->name(), base);
  uint64_t end = base + length;
  auto next = map.lower_bound(base);
  if (next != map.end() && next->first < end) {
    return make_error("{} range {:#x}-{:#x} of {} overlaps {} at {:#x}", space, base, end - 1,
                      device->name(), next->second.device->name(), next->first);
  }
  if (next != map.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second.length > base) {
      return make_error("{} range {:#x}-{:#x} of {} overlaps {} at {:#x}", space, base, end - 1,
                        device->name(), prev->second.device->name(), prev->first);
    }
  }
  map.emplace(base, Range{length, std::move(device)});
  return ok_status();
}

Status IoBus::add_pio(uint16_t base, uint32_t length, std::shared_ptr<Device> device) {
  if (uint32_t{base} + length > 0x10000) {
    return make_error("port range {:#x}+{:#x} of {} goes past port 0xffff", base, length,
                      device->name());
  }
  std::unique_lock lock(mu_);
  return insert(pio_, base, length, std::move(device), "port");
}

Status IoBus::add_mmio(uint64_t base, uint64_t length, std::shared_ptr<Device> device) {
  std::unique_lock lock(mu_);
  return insert(mmio_, base, length, std::move(device), "MMIO");
}

bool IoBus::erase(Map& map, uint64_t base, const Device* device) {
  auto it = map.find(base);
  if (it == map.end() || it->second.device.get() != device) return false;
  map.erase(it);
  return true;
}

bool IoBus::remove_pio(uint16_t base, const Device* device) {
  std::unique_lock lock(mu_);
  return erase(pio_, base, device);
}

bool IoBus::remove_mmio(uint64_t base, const Device* device) {
  std::unique_lock lock(mu_);
  return erase(mmio_, base, device);
}

Device* IoBus::find(const Map& map, uint64_t addr, uint64_t len, uint64_t* offset) const {
  auto it = map.upper_bound(addr);
  if (it == map.begin()) return nullptr;
  --it;
  uint64_t off = addr - it->first;
  if (off >= it->second.length || len > it->second.length - off) return nullptr;
  *offset = off;
  return it->second.device.get();
}

void IoBus::read(const Map& map, uint64_t addr, std::span<uint8_t> data) {
  Device* dev;
  uint64_t offset = 0;
  {
    std::shared_lock lock(mu_);
    dev = find(map, addr, data.size(), &offset);
  }
  if (dev == nullptr) {
    unclaimed_.fetch_add(1, std::memory_order_relaxed);
    std::memset(data.data(), 0xff, data.size());
    return;
  }
  dev->read(offset, data);
}

void IoBus::write(const Map& map, uint64_t addr, std::span<const uint8_t> data) {
  Device* dev;
  uint64_t offset = 0;
  {
    std::shared_lock lock(mu_);
    dev = find(map, addr, data.size(), &offset);
  }
  if (dev == nullptr) {
    unclaimed_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  dev->write(offset, data);
}

void IoBus::pio_read(uint16_t port, std::span<uint8_t> data) {
  read(pio_, port, data);
}
void IoBus::pio_write(uint16_t port, std::span<const uint8_t> data) {
  write(pio_, port, data);
}
void IoBus::mmio_read(uint64_t addr, std::span<uint8_t> data) {
  read(mmio_, addr, data);
}
void IoBus::mmio_write(uint64_t addr, std::span<const uint8_t> data) {
  write(mmio_, addr, data);
}

}  // namespace vessel

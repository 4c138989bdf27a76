#include "accel/soft/soft_cpu_bus.h"

#include <cstring>

namespace vessel {

uint8_t* SoftCpuBus::ram(uint64_t gpa) {
  uint64_t page = gpa & ~0xFFFull;
  uint8_t* host = memory_.host_ptr(page, 0x1000);
  return host ? host + (gpa - page) : nullptr;
}

uint64_t SoftCpuBus::mmio_read(uint64_t gpa, unsigned size) {
  uint8_t bytes[8] = {};
  io_.mmio_read(gpa, std::span<uint8_t>(bytes, size));
  uint64_t v = 0;
  std::memcpy(&v, bytes, size);
  return v;
}

void SoftCpuBus::mmio_write(uint64_t gpa, unsigned size, uint64_t value) {
  uint8_t bytes[8];
  std::memcpy(bytes, &value, 8);
  io_.mmio_write(gpa, std::span<const uint8_t>(bytes, size));
}

uint32_t SoftCpuBus::pio_read(uint16_t port, unsigned size) {
  uint8_t bytes[4] = {};
  io_.pio_read(port, std::span<uint8_t>(bytes, size));
  uint32_t v = 0;
  std::memcpy(&v, bytes, size);
  return v;
}

void SoftCpuBus::pio_write(uint16_t port, unsigned size, uint32_t value) {
  uint8_t bytes[4];
  std::memcpy(bytes, &value, 4);
  io_.pio_write(port, std::span<const uint8_t>(bytes, size));
}

}  // namespace vessel

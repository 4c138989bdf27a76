// The soft accelerator's side of the CPU's bus interface: guest RAM as host
// pointers from GuestMemory, everything else (MMIO, ports) through the
// vCPU's IoHandler.
#pragma once

#include "bus/io_bus.h"
#include "cpu/cpu_bus.h"
#include "memory/guest_memory.h"

namespace vessel {

class SoftCpuBus : public cpu::CpuBus {
 public:
  SoftCpuBus(const GuestMemory& memory, IoHandler& io) : memory_(memory), io_(io) {}
  uint8_t* ram(uint64_t gpa) override;
  uint64_t mmio_read(uint64_t gpa, unsigned size) override;
  void mmio_write(uint64_t gpa, unsigned size, uint64_t value) override;
  uint32_t pio_read(uint16_t port, unsigned size) override;
  void pio_write(uint16_t port, unsigned size, uint32_t value) override;

 private:
  const GuestMemory& memory_;
  IoHandler& io_;
};

}  // namespace vessel

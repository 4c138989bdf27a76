// Helpers for the interrupt controller tests: 32-bit accesses to a Device
// and a SoftIrqChip on a fake clock with its local APICs software-enabled.
#pragma once

#include <cstdint>
#include <span>

#include "bus/device.h"
#include "devices/register_bytes.h"
#include "fake_time_source.h"
#include "irq/soft_irq_chip.h"

namespace vessel::testing {

inline void write32(Device& dev, uint64_t offset, uint32_t value) {
  uint8_t b[4];
  store_le(b, value);
  dev.write(offset, b);
}

inline uint32_t read32(Device& dev, uint64_t offset) {
  uint8_t b[4];
  dev.read(offset, b);
  return static_cast<uint32_t>(load_le(b));
}

// Whether bit `vector` is set in the 256-bit register at `base` (ISR, TMR, IRR).
inline bool apic_bit(Lapic& lapic, uint32_t base, uint8_t vector) {
  return read32(lapic, base + 0x10 * (vector / 32)) >> (vector % 32) & 1;
}

// Sends a fixed, edge, physical MSI with `vector` to APIC `dest`.
inline void msi(IrqChip& chip, uint8_t dest, uint8_t vector) {
  chip.send_msi(0xFEE0'0000 | (uint64_t{dest} << 12), vector);
}

}  // namespace vessel::testing

// Little-endian packing of the bytes of a device access, for devices whose
// registers are wider than one byte. The bus passes 1, 2, 4 or 8 bytes; bytes
// past the eighth (which no x86 access produces) are read as zero / written
// as zero, so a malformed access can never index out of bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace vessel {

// The value of the access's bytes, first byte least significant.
inline uint64_t load_le(std::span<const uint8_t> data) {
  uint64_t value = 0;
  for (size_t i = 0; i < data.size() && i < 8; i++) value |= uint64_t{data[i]} << (8 * i);
  return value;
}

// Fills the access's bytes from `value`, first byte least significant.
inline void store_le(std::span<uint8_t> data, uint64_t value) {
  for (size_t i = 0; i < data.size(); i++)
    data[i] = i < 8 ? static_cast<uint8_t>(value >> (8 * i)) : 0;
}

// Byte `index` (0 = least significant) of a 32-bit register.
inline uint8_t byte_of(uint32_t value, uint64_t index) {
  return index < 4 ? static_cast<uint8_t>(value >> (8 * index)) : 0;
}

// `value` with byte `index` replaced by `byte`.
inline uint32_t with_byte(uint32_t value, uint64_t index, uint8_t byte) {
  if (index >= 4) return value;
  uint32_t shift = static_cast<uint32_t>(8 * index);
  return (value & ~(0xFFu << shift)) | (uint32_t{byte} << shift);
}

}  // namespace vessel

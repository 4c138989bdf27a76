// Little-endian field access in byte buffers, for building and parsing the
// binary structures of the boot path (boot_params, ELF, multiboot, ACPI).
// Callers check bounds first: an out-of-range access is a programming error.
#pragma once

#include <bit>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

namespace vessel {

static_assert(std::endian::native == std::endian::little,
              "the boot code assumes a little-endian host");

template <typename T>
void put_le(std::span<uint8_t> buf, size_t offset, T value) {
  static_assert(std::is_integral_v<T>);
  assert(offset <= buf.size() && sizeof(T) <= buf.size() - offset);
  std::memcpy(buf.data() + offset, &value, sizeof(T));
}

template <typename T>
T get_le(std::span<const uint8_t> buf, size_t offset) {
  static_assert(std::is_integral_v<T>);
  assert(offset <= buf.size() && sizeof(T) <= buf.size() - offset);
  T value;
  std::memcpy(&value, buf.data() + offset, sizeof(T));
  return value;
}

// True if [offset, offset + len) lies inside a buffer of `size` bytes (no overflow).
inline bool in_bounds(uint64_t size, uint64_t offset, uint64_t len) {
  return offset <= size && len <= size - offset;
}

}  // namespace vessel

// Parsing of sizes given by users ("256M", "1G", "512").
#pragma once

#include <cstdint>
#include <string_view>

#include "base/error.h"

namespace vessel {

// Parses a size in bytes. A suffix K, M, G or T (binary multiples, optional
// trailing "iB" or "B", case-insensitive) scales the number; a bare number is
// in `default_unit` bytes (QEMU's -m reads a bare number as MiB).
Expected<uint64_t> parse_size(std::string_view text, uint64_t default_unit);

// Parses an unsigned integer in decimal or 0x-hex.
Expected<uint64_t> parse_u64(std::string_view text);

}  // namespace vessel

// A 128-bit UUID (RFC 4122 / RFC 9562) in its canonical text form
// 8-4-4-4-12 hex digits, e.g. 12345678-9abc-def0-1234-56789abcdef0. The bytes
// are kept in the order the text spells them (big-endian fields); SMBIOS
// stores the first three fields little-endian (boot/smbios.h does that).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace vessel {

using Uuid = std::array<uint8_t, 16>;

// Parses the canonical form (hex digits in either case, hyphens after the
// 8th, 12th, 16th and 20th digit, nothing else).
Expected<Uuid> parse_uuid(std::string_view text);

// The canonical form, lower-case.
std::string format_uuid(const Uuid& uuid);

// A random (version 4, RFC 4122 variant) UUID from getrandom(2).
Expected<Uuid> random_uuid();

}  // namespace vessel

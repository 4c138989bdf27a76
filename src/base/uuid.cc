#include "base/uuid.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>

namespace vessel {

namespace {

constexpr size_t kTextLength = 36;

bool is_hyphen_position(size_t i) {
  return i == 8 || i == 13 || i == 18 || i == 23;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Expected<Uuid> parse_uuid(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return make_error(
        "'{}' is not a UUID ({}; expected the form 12345678-9abc-def0-1234-56789abcdef0)", text,
        why);
  };
  if (text.size() != kTextLength) return bad(fmt::format("{} characters, not 36", text.size()));
  Uuid uuid{};
  size_t nibble = 0;
  for (size_t i = 0; i < text.size(); i++) {
    if (is_hyphen_position(i)) {
      if (text[i] != '-') return bad(fmt::format("no '-' at position {}", i + 1));
      continue;
    }
    int v = hex_value(text[i]);
    if (v < 0) return bad(fmt::format("'{}' at position {} is not a hex digit", text[i], i + 1));
    uuid[nibble / 2] = static_cast<uint8_t>(uuid[nibble / 2] | (v << (nibble % 2 == 0 ? 4 : 0)));
    nibble++;
  }
  return uuid;
}

std::string format_uuid(const Uuid& u) {
  std::string s;
  s.reserve(kTextLength);
  constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < u.size(); i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kDigits[u[i] >> 4]);
    s.push_back(kDigits[u[i] & 0xF]);
  }
  return s;
}

Expected<Uuid> random_uuid() {
  Uuid u{};
  size_t got = 0;
  while (got < u.size()) {
    ssize_t n = getrandom(u.data() + got, u.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error("getrandom: {}", std::strerror(errno));
    }
    got += static_cast<size_t>(n);
  }
  u[6] = static_cast<uint8_t>((u[6] & 0x0F) | 0x40);  // version 4
  u[8] = static_cast<uint8_t>((u[8] & 0x3F) | 0x80);  // variant 10xx (RFC 4122)
  return u;
}

}  // namespace vessel

#include "base/size.h"

#include <cctype>
#include <charconv>
#include <string>

namespace vessel {

Expected<uint64_t> parse_u64(std::string_view text) {
  int base = 10;
  std::string_view digits = text;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits.remove_prefix(2);
  }
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (digits.empty() || ec == std::errc::invalid_argument || end != digits.data() + digits.size()) {
    return make_error("'{}' is not a number", text);
  }
  if (ec == std::errc::result_out_of_range) return make_error("'{}' is too large", text);
  return value;
}

Expected<uint64_t> parse_size(std::string_view text, uint64_t default_unit) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) i++;
  if (i == 0)
    return make_error("'{}' is not a size (expected a number with an optional K, M, G or T suffix)",
                      text);
  auto number = parse_u64(text.substr(0, i));
  if (!number.ok()) return number.error();
  std::string suffix;
  for (char c : text.substr(i))
    suffix += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  uint64_t unit;
  if (suffix.empty()) {
    unit = default_unit;
  } else {
    if (suffix.size() >= 3 && suffix.ends_with("IB"))
      suffix.resize(suffix.size() - 2);
    else if (suffix.size() == 2 && suffix.ends_with("B"))
      suffix.resize(1);
    if (suffix == "B")
      unit = 1;
    else if (suffix == "K")
      unit = 1ull << 10;
    else if (suffix == "M")
      unit = 1ull << 20;
    else if (suffix == "G")
      unit = 1ull << 30;
    else if (suffix == "T")
      unit = 1ull << 40;
    else
      return make_error("'{}' has an unknown size suffix (use K, M, G or T)", text);
  }
  if (*number != 0 && unit > UINT64_MAX / *number)
    return make_error("size '{}' is too large", text);
  return *number * unit;
}

}  // namespace vessel

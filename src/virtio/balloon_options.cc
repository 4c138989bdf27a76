#include "virtio/balloon_options.h"

#include <string>

#include "base/size.h"

namespace vessel {

namespace {

Expected<bool> parse_on_off(std::string_view key, std::string_view value) {
  if (value == "on") return true;
  if (value == "off") return false;
  return make_error("--balloon {}='{}' is not on or off", key, value);
}

}  // namespace

Expected<BalloonOptions> parse_balloon_options(std::string_view text) {
  BalloonOptions o;
  bool seen_size = false, seen_oom = false, seen_fpr = false, seen_period = false;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (comma != std::string_view::npos && text.empty()) {
      return make_error("--balloon: trailing ','");
    }
    size_t eq = item.find('=');
    if (item.empty() || eq == std::string_view::npos || eq == 0) {
      return make_error("--balloon: '{}' is not KEY=VALUE", item);
    }
    std::string_view key = item.substr(0, eq), value = item.substr(eq + 1);
    auto once = [&](bool& seen) -> Status {
      if (seen) return make_error("--balloon: {}= given twice", key);
      seen = true;
      return ok_status();
    };
    if (key == "size") {
      VESSEL_TRY(once(seen_size));
      auto size = parse_size(value, 1);
      if (!size.ok()) return make_error("--balloon size='{}': {}", value, size.error().message);
      if (*size % 4096 != 0) {
        return make_error("--balloon size='{}' is not a multiple of 4 KiB", value);
      }
      // num_pages is a 32-bit count of 4 KiB pages.
      if (*size / 4096 > UINT32_MAX) return make_error("--balloon size='{}' is too large", value);
      o.size_bytes = *size;
    } else if (key == "deflate_on_oom") {
      VESSEL_TRY(once(seen_oom));
      VESSEL_ASSIGN(o.deflate_on_oom, parse_on_off(key, value));
    } else if (key == "free_page_reporting") {
      VESSEL_TRY(once(seen_fpr));
      VESSEL_ASSIGN(o.free_page_reporting, parse_on_off(key, value));
    } else if (key == "stats_period") {
      VESSEL_TRY(once(seen_period));
      auto n = parse_u64(value);
      if (!n.ok() || *n > 3600) {
        return make_error("--balloon stats_period='{}' is not 0 to 3600 seconds", value);
      }
      o.stats_period_s = static_cast<uint32_t>(*n);
    } else {
      return make_error(
          "--balloon: unknown key '{}' (size, deflate_on_oom, free_page_reporting, "
          "stats_period)",
          key);
    }
  }
  return o;
}

}  // namespace vessel

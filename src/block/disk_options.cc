#include "block/disk_options.h"

#include <set>

namespace vessel {

namespace {

Expected<bool> parse_on_off(std::string_view v) {
  if (v == "on") return true;
  if (v == "off") return false;
  return make_error("readonly must be on or off, not '{}'", v);
}

Status apply(DiskOptions& d, std::string_view key, std::string_view value) {
  if (key == "format") {
    VESSEL_ASSIGN(d.image.format, parse_block_format(value));
  } else if (key == "readonly") {
    VESSEL_ASSIGN(d.image.read_only, parse_on_off(value));
  } else if (key == "cache") {
    VESSEL_ASSIGN(d.image.cache, parse_cache_mode(value));
  } else if (key == "aio") {
    VESSEL_ASSIGN(d.aio, parse_aio_mode(value));
  } else if (key == "serial") {
    if (value.empty()) return make_error("serial is empty");
    if (value.size() > kDiskSerialMax) {
      return make_error("serial '{}' is longer than {} bytes", value, kDiskSerialMax);
    }
    d.serial = value;
  } else {
    return make_error("unknown key '{}' (format, readonly, cache, aio or serial)", key);
  }
  return ok_status();
}

}  // namespace

Expected<DiskOptions> parse_disk_options(std::string_view text) {
  auto fail = [&](const Error& e) { return with_context(e, "--disk '" + std::string(text) + "'"); };
  DiskOptions d;
  size_t comma = text.find(',');
  d.image.path = std::string(text.substr(0, comma));
  if (d.image.path.empty()) return fail(make_error("no image path before the options"));
  std::set<std::string_view> seen;
  while (comma != std::string_view::npos) {
    size_t start = comma + 1;
    comma = text.find(',', start);
    std::string_view part =
        text.substr(start, comma == std::string_view::npos ? comma : comma - start);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return fail(make_error("'{}' is not KEY=VALUE", part));
    }
    std::string_view key = part.substr(0, eq);
    if (!seen.insert(key).second) return fail(make_error("'{}' given twice", key));
    Status s = apply(d, key, part.substr(eq + 1));
    if (!s.ok()) return fail(s.error());
  }
  return d;
}

}  // namespace vessel

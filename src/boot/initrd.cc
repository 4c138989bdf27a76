#include "boot/initrd.h"

#include <cstring>

#include "boot/decompress.h"

namespace vessel {
namespace {

// "newc" cpio magic, without and with checksums.
bool is_cpio(std::span<const uint8_t> data) {
  return data.size() >= 6 &&
         (std::memcmp(data.data(), "070701", 6) == 0 || std::memcmp(data.data(), "070702", 6) == 0);
}

}  // namespace

std::optional<HostBuffer> decompress_initrd(std::span<const uint8_t> initrd, uint64_t max_output,
                                            std::string* why_not) {
  auto say = [&](std::string reason) -> std::optional<HostBuffer> {
    if (why_not) *why_not = std::move(reason);
    return std::nullopt;
  };
  std::optional<Compression> c = detect_compression(initrd);
  if (!c) return say(is_cpio(initrd) ? "already an uncompressed cpio archive" : "not compressed");
  if (!compression_supported(*c))
    return say(std::string(compression_name(*c)) + " is not supported by this build");
  auto out = decompress(*c, initrd, max_output);
  if (!out.ok())
    return say(std::string(compression_name(*c)) + " stream not decoded whole (" +
               out.error().message + ")");
  if (!is_cpio(out->bytes())) return say("the decompressed data is not a cpio archive");
  return std::move(*out);
}

}  // namespace vessel

// Host-side decompression of a compressed kernel (the payload of a bzImage):
// the formats Linux's x86 build can produce, recognised by their magic bytes
// and decoded with the distribution's libraries (zlib, liblzma, liblz4,
// libzstd, libbz2). The input is hostile: the output is bounded by a caller's
// limit, and truncated, corrupt or oversized streams give an Error.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "base/error.h"
#include "boot/host_buffer.h"

namespace vessel {

enum class Compression {
  kGzip,       // 1f 8b (RFC 1952)
  kXz,         // fd 37 7a 58 5a 00
  kLzma,       // 5d 00 00 (the legacy .lzma "alone" format)
  kLz4Legacy,  // 02 21 4c 18 (lz4 -l: 8 MiB blocks, each after a 32-bit LE size)
  kZstd,       // 28 b5 2f fd
  kBzip2,      // "BZh"
};

// The format whose magic `data` starts with, if any.
std::optional<Compression> detect_compression(std::span<const uint8_t> data);

std::string_view compression_name(Compression c);

// True if this build can decode `c` (bzip2 needs libbz2 at build time).
bool compression_supported(Compression c);

// Decodes exactly one stream of format `c` that fills all of `input`. Fails
// if the output would exceed `max_output` bytes, if the stream is truncated,
// corrupt or followed by other bytes. `size_hint` (0: none) is the expected
// output size, used only to size the buffer at the start.
Expected<HostBuffer> decompress(Compression c, std::span<const uint8_t> input, uint64_t max_output,
                                uint64_t size_hint = 0);

}  // namespace vessel

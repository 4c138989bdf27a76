// Host-side decompression of an initramfs. Linux unpacks a compressed
// initramfs itself while booting, which costs a software CPU seconds; it
// takes an uncompressed "newc" cpio archive just as well. So an initrd that is
// exactly one compressed stream (a format detect_compression knows) holding a
// cpio archive is decompressed on the host before it goes into guest memory,
// the same no-wasted-work idea as loading the bzImage payload directly.
// Anything else passes through untouched and the kernel treats it as it
// always would: an uncompressed archive, several concatenated archives (an
// early-microcode cpio followed by a compressed one), an old-style
// filesystem image, a format this build cannot decode, a stream that does
// not decode or does not hold a cpio archive.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "boot/host_buffer.h"

namespace vessel {

// The decompressed archive, or nothing when `initrd` is to be used as it is
// (`why_not`, if given, then says why). The output is bounded by `max_output`.
std::optional<HostBuffer> decompress_initrd(std::span<const uint8_t> initrd, uint64_t max_output,
                                            std::string* why_not = nullptr);

}  // namespace vessel

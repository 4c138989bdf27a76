// Loader for multiboot (v1, spec 0.6.96) kernels: finds the multiboot header,
// loads the image through the header's a.out-kludge addresses (flag bit 16)
// or the ELF program headers, and builds the multiboot information structure
// (memory sizes, command line, e820-style mmap, the initrd as module 0).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "base/error.h"
#include "boot/boot_image.h"
#include "boot/load_common.h"
#include "memory/guest_memory.h"

namespace vessel {

inline constexpr uint32_t kMultibootHeaderMagic = 0x1BADB002;
inline constexpr uint32_t kMultibootBootloaderMagic = 0x2BADB002;

// File offset of a valid multiboot header (magic, 4-aligned, within the first
// 8192 bytes, checksum correct), if any.
std::optional<size_t> find_multiboot_header(std::span<const uint8_t> file);

Expected<BootImage> load_multiboot(GuestMemory& memory, const LoadInputs& in, size_t header_offset);

}  // namespace vessel

// Loader for ELF kernels with a Xen PVH entry note (the PVH boot ABI, as
// Linux's vmlinux and QEMU's -kernel use it): PT_LOAD segments at their
// physical addresses, entry in 32-bit protected mode at the
// XEN_ELFNOTE_PHYS32_ENTRY address with EBX pointing at an hvm_start_info
// (command line, initrd module, RSDP, e820 memory map).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "base/error.h"
#include "boot/boot_image.h"
#include "boot/elf.h"
#include "boot/load_common.h"
#include "memory/guest_memory.h"

namespace vessel {

inline constexpr uint32_t kXenElfnotePhys32Entry = 18;
inline constexpr uint32_t kHvmStartMagic = 0x336ec578;

// The PHYS32_ENTRY address of a "Xen" note, if the image has one.
Expected<std::optional<uint64_t>> find_pvh_entry(std::span<const uint8_t> file,
                                                 const ElfImage& image);

Expected<BootImage> load_pvh(GuestMemory& memory, const LoadInputs& in, const ElfImage& image,
                             uint64_t entry);

}  // namespace vessel

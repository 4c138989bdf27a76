// Loads a kernel the way QEMU's -kernel does: recognises a bzImage (Linux x86
// boot protocol), a multiboot (v1) kernel, or an ELF vmlinux with a PVH note by
// their headers, or loads a flat binary at a given address. A bzImage is
// loaded directly where it can be: its payload is decompressed on the host and
// the vmlinux entered through its PVH entry point.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/uuid.h"
#include "boot/boot_image.h"
#include "memory/guest_memory.h"

namespace vessel {

enum class KernelFormat {
  kAuto,     // detect; a bzImage goes direct when it can, else through its decompressor
  kBzImage,  // a bzImage, through its own decompressor at its 64-bit entry (KASLR works)
  kDirect,   // detect; a bzImage must go direct (decompressed on the host, PVH entry)
  kFlat,     // a raw binary at flat_load_addr, started in real mode
};

// "auto", "bzimage", "direct" or "flat".
Expected<KernelFormat> parse_kernel_format(std::string_view name);

struct BootSpec {
  std::string kernel_path;
  std::string initrd_path;  // empty: none
  std::string cmdline;
  KernelFormat format = KernelFormat::kAuto;
  uint64_t flat_load_addr = 0x7C00;  // flat binaries: where they are loaded (real mode entry)
  int cpus = 1;
  std::optional<Uuid> uuid;  // SMBIOS system UUID; none: a random one
};

// Writes the kernel (and initrd, command line, boot parameters, e820 map,
// ACPI and SMBIOS tables) into `memory`. Fails with a message naming the file and what is
// wrong with it (missing, unreadable, not a kernel Vessel knows, too big for
// the guest's memory, ...).
Expected<BootImage> load_kernel(GuestMemory& memory, const BootSpec& spec);

}  // namespace vessel

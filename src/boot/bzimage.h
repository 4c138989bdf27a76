// Loader for Linux bzImage kernels through the 64-bit boot protocol
// (Documentation/arch/x86/boot.rst): the protected-mode part is loaded and
// entered at startup_64 with RSI pointing at a boot_params zero page that
// Vessel fills (setup header, command line, initrd, e820 map, RSDP address).
#pragma once

#include <span>

#include "base/error.h"
#include "boot/boot_image.h"
#include "boot/load_common.h"
#include "memory/guest_memory.h"

namespace vessel {

// True if the file carries the "HdrS" setup header magic.
bool is_bzimage(std::span<const uint8_t> file);

// Expects the identity page tables and boot GDT to be written by the caller.
Expected<BootImage> load_bzimage(GuestMemory& memory, const LoadInputs& in);

}  // namespace vessel

// The guest's physical memory map as a BIOS's INT 15h/E820 reports it, built
// from GuestMemory's regions. Linux gets it in boot_params, multiboot kernels
// as the mmap, PVH kernels as the hvm_start_info memmap.
#pragma once

#include <cstdint>
#include <vector>

#include "memory/guest_memory.h"

namespace vessel {

enum class E820Type : uint32_t {
  kRam = 1,
  kReserved = 2,
};

struct E820Entry {
  uint64_t addr = 0;
  uint64_t size = 0;
  E820Type type = E820Type::kRam;
  bool operator==(const E820Entry&) const = default;
};

// RAM [0, EBDA), reserved [EBDA, 1 MiB) (EBDA, VGA hole, BIOS area: the ACPI and SMBIOS
// tables), RAM from 1 MiB to the end of low RAM, reserved PCI ECAM
// (layout::kPciEcamBase, in the 32-bit hole), and RAM at 4 GiB if the guest
// has memory above the 32-bit MMIO hole. Sorted, non-overlapping.
std::vector<E820Entry> build_e820_map(const GuestMemory& memory);

// End of usable RAM below 4 GiB (the end of the first region).
uint64_t low_ram_end(const GuestMemory& memory);

}  // namespace vessel

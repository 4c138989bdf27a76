// What every kernel-format loader gets (the files' bytes, the command line,
// where the ACPI tables are) and the checked copies they all make: a kernel
// segment into guest RAM, the command line, the initrd placed high.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "base/error.h"
#include "memory/guest_memory.h"

namespace vessel {

struct LoadInputs {
  std::span<const uint8_t> kernel;
  std::span<const uint8_t> initrd;  // empty: no initrd
  std::string_view initrd_name;     // for messages
  std::string_view cmdline;
  uint64_t rsdp_addr = 0;
};

inline constexpr uint64_t kPageSize = 4096;

// The low-memory area the loaders fill themselves (boot GDT/IDT, boot
// parameters, page tables, command line), the ACPI area and the SMBIOS area:
// kernel segments must stay out of all three.
inline constexpr uint64_t kBootDataStart = 0x500;  // layout::kBootGdt
inline constexpr uint64_t kBootDataEnd = 0x30000;  // layout::kCmdline + layout::kCmdlineMax

// Copies `data` to [paddr, paddr + memsz) and zeroes the rest (memsz >=
// data.size(), e.g. an ELF segment's BSS). Fails if the range leaves guest RAM
// or overlaps the boot data, ACPI or SMBIOS areas.
Status load_segment(GuestMemory& memory, uint64_t paddr, std::span<const uint8_t> data,
                    uint64_t memsz);

// Writes `cmdline` and its NUL at layout::kCmdline; fails if it is longer than
// `max_length` bytes (not counting the NUL) or than the command-line area.
Status write_cmdline(GuestMemory& memory, std::string_view cmdline, uint64_t max_length);

// Puts the initrd as high as possible below `ceiling` (exclusive; at most the
// end of low RAM), page-aligned, and not below `floor`. Returns its address.
Expected<uint64_t> place_initrd(GuestMemory& memory, const LoadInputs& in, uint64_t floor,
                                uint64_t ceiling);

}  // namespace vessel

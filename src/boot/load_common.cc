#include "boot/load_common.h"

#include <algorithm>

#include "base/pc_layout.h"
#include "boot/e820.h"

namespace vessel {

static_assert(kBootDataStart == layout::kBootGdt);
static_assert(kBootDataEnd == layout::kCmdline + layout::kCmdlineMax);

namespace {

bool overlaps(uint64_t a, uint64_t a_len, uint64_t b, uint64_t b_end) {
  return a < b_end && b < a + a_len;
}

}  // namespace

Status load_segment(GuestMemory& memory, uint64_t paddr, std::span<const uint8_t> data,
                    uint64_t memsz) {
  if (memsz < data.size()) memsz = data.size();
  if (memsz == 0) return ok_status();
  if (paddr + memsz < paddr) {
    return make_error("segment at {:#x} of {:#x} bytes wraps around the address space", paddr,
                      memsz);
  }
  if (!memory.contains(paddr, memsz)) {
    return make_error(
        "segment {:#x}-{:#x} does not fit in guest RAM (the guest has {} MiB, {} MiB below "
        "4 GiB)",
        paddr, paddr + memsz, memory.size() >> 20, low_ram_end(memory) >> 20);
  }
  if (overlaps(paddr, memsz, kBootDataStart, kBootDataEnd)) {
    return make_error("segment {:#x}-{:#x} overlaps Vessel's boot data at {:#x}-{:#x}", paddr,
                      paddr + memsz, kBootDataStart, kBootDataEnd);
  }
  if (overlaps(paddr, memsz, layout::kAcpiTables, layout::kAcpiTablesEnd)) {
    return make_error("segment {:#x}-{:#x} overlaps the ACPI tables at {:#x}-{:#x}", paddr,
                      paddr + memsz, layout::kAcpiTables, layout::kAcpiTablesEnd);
  }
  if (overlaps(paddr, memsz, layout::kSmbios, layout::kSmbiosEnd)) {
    return make_error("segment {:#x}-{:#x} overlaps the SMBIOS tables at {:#x}-{:#x}", paddr,
                      paddr + memsz, layout::kSmbios, layout::kSmbiosEnd);
  }
  VESSEL_TRY(memory.write(paddr, data.data(), data.size()));
  return memory.fill(paddr + data.size(), 0, memsz - data.size());
}

Status write_cmdline(GuestMemory& memory, std::string_view cmdline, uint64_t max_length) {
  uint64_t limit = std::min<uint64_t>(max_length, layout::kCmdlineMax - 1);
  if (cmdline.size() > limit) {
    return make_error("command line is {} bytes long, the limit is {}", cmdline.size(), limit);
  }
  if (cmdline.find('\0') != std::string_view::npos) {
    return make_error("command line contains a NUL character");
  }
  VESSEL_TRY(memory.write(layout::kCmdline, cmdline.data(), cmdline.size()));
  return memory.fill(layout::kCmdline + cmdline.size(), 0, 1);
}

Expected<uint64_t> place_initrd(GuestMemory& memory, const LoadInputs& in, uint64_t floor,
                                uint64_t ceiling) {
  uint64_t size = in.initrd.size();
  ceiling = std::min(ceiling, low_ram_end(memory));
  uint64_t first = (floor + kPageSize - 1) & ~(kPageSize - 1);
  if (ceiling < size || ((ceiling - size) & ~(kPageSize - 1)) < first) {
    return make_error(
        "initrd {} ({} bytes) does not fit in guest memory: it must lie between {:#x} (end of "
        "the kernel) and {:#x}",
        in.initrd_name, size, first, ceiling);
  }
  uint64_t addr = (ceiling - size) & ~(kPageSize - 1);
  VESSEL_TRY(memory.write(addr, in.initrd.data(), size));
  return addr;
}

}  // namespace vessel

#include "boot/e820.h"

#include "base/pc_layout.h"

namespace vessel {

namespace {
constexpr uint64_t kOneMiB = 1ull << 20;
}

uint64_t low_ram_end(const GuestMemory& memory) {
  for (const GuestMemory::Region& r : memory.regions()) {
    if (r.gpa == 0) return r.size;
  }
  return 0;
}

std::vector<E820Entry> build_e820_map(const GuestMemory& memory) {
  std::vector<E820Entry> map;
  uint64_t low_end = low_ram_end(memory);
  map.push_back({0, layout::kEbdaStart, E820Type::kRam});
  map.push_back({layout::kEbdaStart, kOneMiB - layout::kEbdaStart, E820Type::kReserved});
  if (low_end > kOneMiB) map.push_back({kOneMiB, low_end - kOneMiB, E820Type::kRam});
  // PCI ECAM (the MCFG table's window): Linux accepts ECAM only where the
  // firmware reserved it.
  map.push_back({layout::kPciEcamBase, layout::kPciEcamSize, E820Type::kReserved});
  for (const GuestMemory::Region& r : memory.regions()) {
    if (r.gpa >= layout::kHighRamStart) map.push_back({r.gpa, r.size, E820Type::kRam});
  }
  return map;
}

}  // namespace vessel

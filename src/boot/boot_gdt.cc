#include "boot/boot_gdt.h"

#include <cassert>

#include "base/pc_layout.h"

namespace vessel::boot_gdt {

static_assert(layout::kBootGdt + sizeof(kDescriptors) <= layout::kBootIdt,
              "the boot GDT overlaps the boot IDT");

Segment decode(uint16_t selector, uint64_t d) {
  Segment s;
  s.selector = selector;
  s.base = ((d >> 16) & 0xFFFFFF) | (((d >> 56) & 0xFF) << 24);
  uint32_t limit = static_cast<uint32_t>((d & 0xFFFF) | (((d >> 48) & 0xF) << 16));
  s.type = (d >> 40) & 0xF;
  s.s = (d >> 44) & 1;
  s.dpl = (d >> 45) & 3;
  s.present = (d >> 47) & 1;
  s.avl = (d >> 52) & 1;
  s.l = (d >> 53) & 1;
  s.db = (d >> 54) & 1;
  s.g = (d >> 55) & 1;
  s.limit = s.g ? (limit << 12) | 0xFFF : limit;
  s.unusable = s.present ? 0 : 1;
  return s;
}

Segment segment(uint16_t selector) {
  size_t index = selector >> 3;
  assert(index > 0 && index < kDescriptors.size());
  return decode(selector, kDescriptors[index]);
}

Status write(GuestMemory& memory) {
  VESSEL_TRY(memory.write(layout::kBootGdt, kDescriptors.data(), sizeof(kDescriptors)));
  return memory.fill(layout::kBootIdt, 0, kIdtLimit + 1);
}

}  // namespace vessel::boot_gdt

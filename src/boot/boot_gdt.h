// The boot GDT that every direct-boot path installs at layout::kBootGdt (with
// an empty IDT at layout::kBootIdt), and the decoding of its descriptors into
// the segment caches apply_entry() loads. Selectors follow Linux's boot
// protocol where it names them (__BOOT_CS = 0x10, __BOOT_DS = 0x18):
//   0x00 null
//   0x08 64-bit code: base 0, limit 4 GiB, L=1, execute/read, DPL 0
//   0x10 32-bit code: base 0, limit 4 GiB, D=1, execute/read, DPL 0
//   0x18 data:        base 0, limit 4 GiB, B=1, read/write,   DPL 0
// No TSS descriptor: apply_entry() gives TR the cache KVM's reset state uses.
#pragma once

#include <array>
#include <cstdint>

#include "accel/cpu_state.h"
#include "base/error.h"
#include "memory/guest_memory.h"

namespace vessel::boot_gdt {

inline constexpr uint16_t kCode64Selector = 0x08;
inline constexpr uint16_t kCode32Selector = 0x10;
inline constexpr uint16_t kDataSelector = 0x18;

// The descriptors, indexed by selector >> 3.
inline constexpr std::array<uint64_t, 4> kDescriptors = {
    0,
    0x00AF'9B00'0000'FFFFull,  // 64-bit code
    0x00CF'9B00'0000'FFFFull,  // 32-bit code
    0x00CF'9300'0000'FFFFull,  // data
};
inline constexpr uint16_t kGdtLimit = sizeof(kDescriptors) - 1;
inline constexpr uint16_t kIdtLimit = 7;  // one (not present) gate's worth of zeros

// The segment cache a CPU loads from `descriptor` for `selector` (SDM vol. 3,
// 3.4.5 "Segment Descriptors").
Segment decode(uint16_t selector, uint64_t descriptor);

// The cache for one of the selectors above.
Segment segment(uint16_t selector);

// Writes the GDT at layout::kBootGdt and a zeroed IDT at layout::kBootIdt.
Status write(GuestMemory& memory);

}  // namespace vessel::boot_gdt

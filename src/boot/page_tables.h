// The identity page tables for a 64-bit entry: PML4 at layout::kPml4, one PDPT
// at layout::kPdpt and four page directories from layout::kPd mapping the
// first 4 GiB with 2 MiB pages (present, writable, supervisor).
#pragma once

#include <cstdint>

#include "base/error.h"
#include "memory/guest_memory.h"

namespace vessel {

inline constexpr uint64_t kPtePresent = 1ull << 0;
inline constexpr uint64_t kPteWritable = 1ull << 1;
inline constexpr uint64_t kPteLargePage = 1ull << 7;
inline constexpr uint64_t kIdentityMapSize = 4ull << 30;

Status write_identity_page_tables(GuestMemory& memory);

}  // namespace vessel

#include "boot/page_tables.h"

#include <array>

#include "base/pc_layout.h"

namespace vessel {

namespace {
constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kLargePage = 2ull << 20;
constexpr int kEntriesPerTable = 512;
constexpr int kDirectories = kIdentityMapSize / (kLargePage * kEntriesPerTable);  // 4
static_assert(layout::kPdpt == layout::kPml4 + kPageSize &&
              layout::kPd == layout::kPdpt + kPageSize);
static_assert(layout::kPd + kDirectories * kPageSize <= layout::kCmdline);
}  // namespace

Status write_identity_page_tables(GuestMemory& memory) {
  std::array<uint64_t, kEntriesPerTable> table{};
  table[0] = layout::kPdpt | kPtePresent | kPteWritable;
  VESSEL_TRY(memory.write(layout::kPml4, table.data(), sizeof(table)));

  table.fill(0);
  for (int i = 0; i < kDirectories; i++) {
    table[i] = (layout::kPd + i * kPageSize) | kPtePresent | kPteWritable;
  }
  VESSEL_TRY(memory.write(layout::kPdpt, table.data(), sizeof(table)));

  for (int d = 0; d < kDirectories; d++) {
    for (int i = 0; i < kEntriesPerTable; i++) {
      uint64_t addr = (static_cast<uint64_t>(d) * kEntriesPerTable + i) * kLargePage;
      table[i] = addr | kPtePresent | kPteWritable | kPteLargePage;
    }
    VESSEL_TRY(memory.write(layout::kPd + d * kPageSize, table.data(), sizeof(table)));
  }
  return ok_status();
}

}  // namespace vessel

#include <gtest/gtest.h>

#include "base/pc_layout.h"
#include "boot/e820.h"
#include "boot_test_util.h"

namespace vessel {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

TEST(E820, SmallGuest) {
  auto mem = test::make_memory(16 * kMiB);
  std::vector<E820Entry> want = {
      {0, 0x9FC00, E820Type::kRam},
      {0x9FC00, 0x60400, E820Type::kReserved},
      {kMiB, 15 * kMiB, E820Type::kRam},
      {layout::kPciEcamBase, layout::kPciEcamSize, E820Type::kReserved},
  };
  EXPECT_EQ(build_e820_map(*mem), want);
  EXPECT_EQ(low_ram_end(*mem), 16 * kMiB);
}

TEST(E820, OneMiBGuestHasNoUpperMemory) {
  auto mem = test::make_memory(kMiB);
  auto map = build_e820_map(*mem);
  ASSERT_EQ(map.size(), 3u);
  EXPECT_EQ(map[1].addr + map[1].size, kMiB);
  EXPECT_EQ(map[2].type, E820Type::kReserved);  // ECAM
}

TEST(E820, ExactlyLowRam) {
  auto mem = test::make_memory(layout::kLowRamEnd);
  auto map = build_e820_map(*mem);
  ASSERT_EQ(map.size(), 4u);
  EXPECT_EQ(map[2].addr + map[2].size, layout::kLowRamEnd);
}

TEST(E820, LargeGuestContinuesAbove4GiB) {
  auto mem = test::make_memory(4096 * kMiB);
  auto map = build_e820_map(*mem);
  ASSERT_EQ(map.size(), 5u);
  EXPECT_EQ(map[2], (E820Entry{kMiB, layout::kLowRamEnd - kMiB, E820Type::kRam}));
  EXPECT_EQ(map[3], (E820Entry{layout::kPciEcamBase, layout::kPciEcamSize, E820Type::kReserved}));
  EXPECT_EQ(map[4], (E820Entry{layout::kHighRamStart, 1024 * kMiB, E820Type::kRam}));
  EXPECT_EQ(low_ram_end(*mem), layout::kLowRamEnd);
  // Sorted and non-overlapping.
  for (size_t i = 1; i < map.size(); i++) {
    EXPECT_LE(map[i - 1].addr + map[i - 1].size, map[i].addr);
  }
}

}  // namespace
}  // namespace vessel

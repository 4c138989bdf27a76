#include <gtest/gtest.h>

#include "base/pc_layout.h"
#include "memory/guest_memory.h"

namespace vessel {
namespace {

TEST(GuestMemory, RejectsBadSizes) {
  EXPECT_FALSE(GuestMemory::create(0).ok());
  EXPECT_FALSE(GuestMemory::create(4096).ok());
  EXPECT_FALSE(GuestMemory::create((1ull << 20) + 1).ok());
  EXPECT_FALSE(GuestMemory::create(GuestMemory::kMaxSize + 4096).ok());
}

TEST(GuestMemory, SmallGuestIsOneRegion) {
  auto mem = GuestMemory::create(16 << 20);
  ASSERT_TRUE(mem.ok()) << mem.error().message;
  ASSERT_EQ((*mem)->regions().size(), 1u);
  EXPECT_EQ((*mem)->regions()[0].gpa, 0u);
  EXPECT_EQ((*mem)->size(), 16u << 20);
}

TEST(GuestMemory, LargeGuestSplitsAroundTheHole) {
  uint64_t size = layout::kLowRamEnd + (64ull << 20);
  auto mem = GuestMemory::create(size);
  ASSERT_TRUE(mem.ok()) << mem.error().message;
  const auto& r = (*mem)->regions();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].size, layout::kLowRamEnd);
  EXPECT_EQ(r[1].gpa, layout::kHighRamStart);
  EXPECT_EQ(r[1].size, 64ull << 20);
  // The hole is not RAM.
  EXPECT_EQ((*mem)->host_ptr(layout::kLowRamEnd, 1), nullptr);
  EXPECT_NE((*mem)->host_ptr(layout::kHighRamStart, 4096), nullptr);
  // A range crossing from low RAM into the hole fails.
  EXPECT_EQ((*mem)->host_ptr(layout::kLowRamEnd - 4, 8), nullptr);
}

TEST(GuestMemory, ReadWriteRoundTrip) {
  auto mem = GuestMemory::create(2 << 20);
  ASSERT_TRUE(mem.ok());
  GuestMemory& m = **mem;
  ASSERT_TRUE(m.write_obj<uint32_t>(0x1000, 0xdeadbeef).ok());
  auto v = m.read_obj<uint32_t>(0x1000);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 0xdeadbeefu);
  ASSERT_TRUE(m.fill(0x2000, 0xab, 16).ok());
  auto b = m.read_obj<uint8_t>(0x200f);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, 0xab);
}

TEST(GuestMemory, OutOfRangeAccessFailsCleanly) {
  auto mem = GuestMemory::create(2 << 20);
  ASSERT_TRUE(mem.ok());
  GuestMemory& m = **mem;
  uint64_t end = 2 << 20;
  uint32_t x = 0;
  EXPECT_TRUE(m.read(end - 4, &x, 4).ok());
  EXPECT_FALSE(m.read(end - 3, &x, 4).ok());  // straddles the end
  EXPECT_FALSE(m.read(end, &x, 1).ok());
  EXPECT_FALSE(m.write(~0ull - 1, &x, 4).ok());  // would wrap around
  EXPECT_FALSE(m.span(0, end + 1).ok());
  auto err = m.read_obj<uint64_t>(end);
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.error().message.find("not in guest RAM"), std::string::npos);
}

}  // namespace
}  // namespace vessel

#include <gtest/gtest.h>

#include <cstring>

#include "boot/host_buffer.h"

namespace vessel {
namespace {

TEST(HostBuffer, GrowsKeepingContentsAndShrinksToZeroedTails) {
  HostBuffer b;
  EXPECT_EQ(b.size(), 0u);
  ASSERT_TRUE(b.resize(100).ok());
  EXPECT_EQ(b.data()[99], 0);
  std::memset(b.data(), 0x5A, 100);
  ASSERT_TRUE(b.resize(5u << 20).ok());  // past one huge page: remapped
  EXPECT_EQ(b.data()[99], 0x5A);
  EXPECT_EQ(b.data()[100], 0);
  EXPECT_EQ(b.data()[(5u << 20) - 1], 0);
  b.data()[(3u << 20) + 7] = 1;
  ASSERT_TRUE(b.resize(3u << 20).ok());  // shrinks the mapping
  ASSERT_TRUE(b.resize(5u << 20).ok());
  EXPECT_EQ(b.data()[(3u << 20) + 7], 0);
  ASSERT_TRUE(b.resize(50).ok());
  ASSERT_TRUE(b.resize(100).ok());  // bytes 50..99 read as zero again
  EXPECT_EQ(b.data()[49], 0x5A);
  EXPECT_EQ(b.data()[50], 0);
  HostBuffer moved = std::move(b);
  EXPECT_EQ(moved.size(), 100u);
  EXPECT_EQ(b.size(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty
  ASSERT_TRUE(moved.resize(0).ok());
  EXPECT_EQ(moved.bytes().size(), 0u);
}

TEST(HostBuffer, AnImpossibleSizeIsAnError) {
  HostBuffer b;
  auto s = b.resize(1ull << 62);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("cannot allocate"), std::string::npos) << s.error().message;
  EXPECT_EQ(b.size(), 0u);
}

}  // namespace
}  // namespace vessel

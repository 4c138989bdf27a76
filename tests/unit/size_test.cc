#include <gtest/gtest.h>

#include "base/size.h"

namespace vessel {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

TEST(ParseSize, SuffixesAndDefaultUnit) {
  EXPECT_EQ(*parse_size("256M", 1), 256 * kMiB);
  EXPECT_EQ(*parse_size("256m", 1), 256 * kMiB);
  EXPECT_EQ(*parse_size("1G", 1), 1024 * kMiB);
  EXPECT_EQ(*parse_size("1GiB", 1), 1024 * kMiB);
  EXPECT_EQ(*parse_size("4k", 1), 4096u);
  EXPECT_EQ(*parse_size("2T", 1), 2ull << 40);
  EXPECT_EQ(*parse_size("512", kMiB), 512 * kMiB);  // bare number in MiB, as QEMU's -m
  EXPECT_EQ(*parse_size("100B", kMiB), 100u);
}

TEST(ParseSize, RejectsNonsense) {
  EXPECT_FALSE(parse_size("", 1).ok());
  EXPECT_FALSE(parse_size("M", 1).ok());
  EXPECT_FALSE(parse_size("12Q", 1).ok());
  EXPECT_FALSE(parse_size("-1G", 1).ok());
  EXPECT_FALSE(parse_size("1.5G", 1).ok());
  EXPECT_FALSE(parse_size("99999999999999999999", 1).ok());
  EXPECT_FALSE(parse_size("20000000T", 1).ok());  // overflows 64 bits
  auto e = parse_size("12Q", 1);
  EXPECT_NE(e.error().message.find("suffix"), std::string::npos);
}

TEST(ParseU64, DecimalAndHex) {
  EXPECT_EQ(*parse_u64("31744"), 31744u);
  EXPECT_EQ(*parse_u64("0x7c00"), 0x7c00u);
  EXPECT_FALSE(parse_u64("0x").ok());
  EXPECT_FALSE(parse_u64("12a").ok());
  EXPECT_FALSE(parse_u64("").ok());
}

}  // namespace
}  // namespace vessel

// Host-side decompression (boot/decompress.h): each format round-trips data
// compressed here with the same libraries, and broken or oversized streams
// give errors.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "boot/decompress.h"
#include "compress_util.h"

namespace vessel {
namespace {

using test::Buf;
using test::compress;
using test::kMiB;
using test::lz4_legacy;

// Compressible but not trivial: text-like runs with a changing counter.
Buf sample(size_t n) {
  Buf b(n);
  uint32_t x = 12345;
  for (size_t i = 0; i < n; i++) {
    if (i % 64 == 0) x = x * 1103515245 + 12345;
    b[i] = static_cast<uint8_t>("vessel boot payload "[i % 20] ^ ((x >> 16) & 0x7));
  }
  return b;
}

class DecompressTest : public ::testing::TestWithParam<Compression> {
 protected:
  void SetUp() override {
    if (!compression_supported(GetParam())) GTEST_SKIP() << "this build has no libbz2";
  }
};

std::string param_name(const ::testing::TestParamInfo<Compression>& info) {
  switch (info.param) {
    case Compression::kGzip:
      return "gzip";
    case Compression::kXz:
      return "xz";
    case Compression::kLzma:
      return "lzma";
    case Compression::kLz4Legacy:
      return "lz4";
    case Compression::kZstd:
      return "zstd";
    case Compression::kBzip2:
      return "bzip2";
  }
  return "unknown";
}

INSTANTIATE_TEST_SUITE_P(Formats, DecompressTest,
                         ::testing::Values(Compression::kGzip, Compression::kXz, Compression::kLzma,
                                           Compression::kLz4Legacy, Compression::kZstd,
                                           Compression::kBzip2),
                         param_name);

TEST_P(DecompressTest, RoundTripsAndDetectsTheMagic) {
  Buf data = sample(kMiB + 123);
  Buf packed = compress(GetParam(), data);
  ASSERT_LT(packed.size(), data.size());
  EXPECT_EQ(detect_compression(packed), GetParam());
  // With an exact size hint, without one, and with a generous limit.
  for (uint64_t hint : {uint64_t{data.size()}, uint64_t{0}, uint64_t{1000}}) {
    auto out = decompress(GetParam(), packed, data.size(), hint);
    ASSERT_TRUE(out.ok()) << out.error().message;
    EXPECT_TRUE(test::same(*out, data)) << "hint " << hint;
  }
  auto big_limit = decompress(GetParam(), packed, 1ull << 40);
  ASSERT_TRUE(big_limit.ok()) << big_limit.error().message;
  EXPECT_EQ(big_limit->size(), data.size());
}

TEST_P(DecompressTest, EmptyAndTinyInputsRoundTrip) {
  Buf tiny = {'x'};
  auto out = decompress(GetParam(), compress(GetParam(), tiny), 16);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_TRUE(test::same(*out, tiny));
}

TEST_P(DecompressTest, OutputOverTheLimitIsAnError) {
  Buf data = sample(kMiB / 2);
  Buf packed = compress(GetParam(), data);
  auto out = decompress(GetParam(), packed, data.size() - 1);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message.find("exceeds the limit of"), std::string::npos)
      << out.error().message;
  // A hint larger than the limit changes nothing.
  out = decompress(GetParam(), packed, kMiB / 4, 64 * kMiB);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message.find("exceeds the limit of"), std::string::npos)
      << out.error().message;
}

TEST_P(DecompressTest, ABombStopsAtTheLimit) {
  Buf zeros(16 * kMiB, 0);
  Buf packed = compress(GetParam(), zeros);
  auto out = decompress(GetParam(), packed, kMiB);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message.find("exceeds the limit of 1048576 bytes"), std::string::npos)
      << out.error().message;
}

TEST_P(DecompressTest, TruncatedStreamsAreErrors) {
  Buf packed = compress(GetParam(), sample(kMiB / 4));
  for (size_t keep : {packed.size() - 1, packed.size() / 2, size_t{8}}) {
    Buf cut(packed.begin(), packed.begin() + keep);
    auto out = decompress(GetParam(), cut, 16 * kMiB);
    EXPECT_FALSE(out.ok()) << "kept " << keep << " of " << packed.size() << " bytes";
  }
  Buf half(packed.begin(), packed.begin() + packed.size() / 2);
  auto out = decompress(GetParam(), half, 16 * kMiB);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message.find("truncated"), std::string::npos) << out.error().message;
}

TEST_P(DecompressTest, CorruptStreamsAreErrors) {
  Buf packed = compress(GetParam(), sample(kMiB / 4));
  Buf bad = packed;
  std::memset(bad.data() + 16, 0xFF, bad.size() - 32);
  auto out = decompress(GetParam(), bad, 2 * kMiB);
  EXPECT_FALSE(out.ok());
}

TEST_P(DecompressTest, DataAfterTheStreamIsAnError) {
  Buf packed = compress(GetParam(), sample(100000));
  packed.insert(packed.end(), {0x34, 0x12, 0x00, 0x00});
  auto out = decompress(GetParam(), packed, kMiB);
  EXPECT_FALSE(out.ok());
}

TEST_P(DecompressTest, WrongMagicIsAnError) {
  Buf junk = sample(1000);
  auto out = decompress(GetParam(), junk, kMiB);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message.find("magic"), std::string::npos) << out.error().message;
}

TEST(DecompressDetect, KnowsTheMagicsAndNothingElse) {
  EXPECT_EQ(detect_compression(Buf{0x1F, 0x8B, 8}), Compression::kGzip);
  EXPECT_EQ(detect_compression(Buf{0xFD, '7', 'z', 'X', 'Z', 0}), Compression::kXz);
  EXPECT_EQ(detect_compression(Buf{0x5D, 0, 0, 0x80}), Compression::kLzma);
  EXPECT_EQ(detect_compression(Buf{0x02, 0x21, 0x4C, 0x18}), Compression::kLz4Legacy);
  EXPECT_EQ(detect_compression(Buf{0x28, 0xB5, 0x2F, 0xFD}), Compression::kZstd);
  EXPECT_EQ(detect_compression(Buf{'B', 'Z', 'h', '9'}), Compression::kBzip2);
  EXPECT_EQ(detect_compression(Buf{0x04, 0x22, 0x4D, 0x18}), std::nullopt);  // lz4 frame format
  EXPECT_EQ(detect_compression(Buf{0x89, 'L', 'Z', 'O'}), std::nullopt);     // lzo
  EXPECT_EQ(detect_compression(Buf{0x1F}), std::nullopt);
  EXPECT_EQ(detect_compression(Buf{}), std::nullopt);
}

TEST(DecompressLz4, ConcatenatedLegacyFramesAndMultipleBlocks) {
  Buf a = sample(9 * kMiB);  // two blocks
  Buf b = sample(1000);
  Buf packed = lz4_legacy(a);
  Buf second = lz4_legacy(b);
  packed.insert(packed.end(), second.begin(), second.end());
  auto out = decompress(Compression::kLz4Legacy, packed, 16 * kMiB);
  ASSERT_TRUE(out.ok()) << out.error().message;
  Buf want = a;
  want.insert(want.end(), b.begin(), b.end());
  EXPECT_TRUE(test::same(*out, want));
}

TEST(DecompressLz4, HostileBlockSizesAreErrors) {
  Buf packed = lz4_legacy(sample(1000));
  Buf huge = packed;
  uint32_t big = 0x7FFFFFFF;
  std::memcpy(huge.data() + 4, &big, 4);
  auto out = decompress(Compression::kLz4Legacy, huge, kMiB);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message.find("claims"), std::string::npos) << out.error().message;

  Buf zero = packed;
  std::memset(zero.data() + 4, 0, 4);
  EXPECT_FALSE(decompress(Compression::kLz4Legacy, zero, kMiB).ok());

  Buf partial_size = packed;
  partial_size.insert(partial_size.end(), {0x10, 0x00});
  out = decompress(Compression::kLz4Legacy, partial_size, kMiB);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message.find("inside the size of block 1"), std::string::npos)
      << out.error().message;
}

}  // namespace
}  // namespace vessel

// Host-side decompression of the initrd (boot/initrd.h): one compressed
// stream holding a "newc" cpio archive is decompressed; everything else is
// left for the kernel, with the reason.
#include <gtest/gtest.h>

#include <string>

#include "boot/initrd.h"
#include "compress_util.h"

namespace vessel {
namespace {

using test::Buf;
using test::kMiB;

// A small "newc" archive: one header with the magic, then filler.
Buf cpio_archive() {
  std::string s = "070701";
  s += std::string(104, '0');
  s += "init";
  s += std::string(2000, 'x');
  return Buf(s.begin(), s.end());
}

TEST(Initrd, CompressedCpioIsDecompressed) {
  Buf cpio = cpio_archive();
  for (Compression c : {Compression::kGzip, Compression::kZstd, Compression::kXz}) {
    SCOPED_TRACE(std::string(compression_name(c)));
    std::string why;
    auto out = decompress_initrd(test::compress(c, cpio), 64 * kMiB, &why);
    ASSERT_TRUE(out.has_value()) << why;
    EXPECT_TRUE(test::same(*out, cpio));
  }
}

TEST(Initrd, UncompressedArchiveIsUsedAsItIs) {
  std::string why;
  EXPECT_FALSE(decompress_initrd(cpio_archive(), 64 * kMiB, &why).has_value());
  EXPECT_EQ(why, "already an uncompressed cpio archive");
  EXPECT_FALSE(decompress_initrd(Buf(100, 0xAB), 64 * kMiB, &why).has_value());
  EXPECT_EQ(why, "not compressed");
}

TEST(Initrd, ConcatenatedArchivesAreLeftToTheKernel) {
  // A compressed archive followed by more bytes (another archive): the
  // kernel unpacks each part; Vessel does not take it apart.
  Buf twice = test::gzip(cpio_archive());
  Buf more = test::gzip(cpio_archive());
  twice.insert(twice.end(), more.begin(), more.end());
  std::string why;
  EXPECT_FALSE(decompress_initrd(twice, 64 * kMiB, &why).has_value());
  EXPECT_NE(why.find("not decoded whole"), std::string::npos) << why;
}

TEST(Initrd, CompressedNonCpioAndBrokenStreamsAreLeftAlone) {
  std::string why;
  Buf image(4096, 0);  // an old-style filesystem image, say
  EXPECT_FALSE(decompress_initrd(test::gzip(image), 64 * kMiB, &why).has_value());
  EXPECT_EQ(why, "the decompressed data is not a cpio archive");
  Buf broken = test::gzip(cpio_archive());
  broken.resize(broken.size() / 2);
  EXPECT_FALSE(decompress_initrd(broken, 64 * kMiB, &why).has_value());
  EXPECT_NE(why.find("gzip"), std::string::npos) << why;
  // Bigger than the guest's memory once decompressed.
  EXPECT_FALSE(decompress_initrd(test::gzip(cpio_archive()), 1000, &why).has_value());
}

}  // namespace
}  // namespace vessel

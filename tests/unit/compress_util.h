// Compressors for the decompression tests, with the same libraries Vessel
// decodes with: every format a bzImage payload can use.
#pragma once

#include <gtest/gtest.h>
#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#ifdef VESSEL_HAVE_BZIP2
#include <bzlib.h>
#endif

#include "boot/decompress.h"

namespace vessel::test {

using Buf = std::vector<uint8_t>;
inline constexpr uint64_t kMiB = 1ull << 20;

inline bool same(const HostBuffer& got, const Buf& want) {
  return got.size() == want.size() && std::equal(want.begin(), want.end(), got.data());
}

inline Buf gzip(const Buf& in) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Buf out(deflateBound(&zs, in.size()) + 64);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

inline Buf lzma_encode(const Buf& in, bool xz) {
  lzma_stream ls = LZMA_STREAM_INIT;
  lzma_options_lzma opt;
  lzma_lzma_preset(&opt, 1);
  EXPECT_EQ(xz ? lzma_easy_encoder(&ls, 1, LZMA_CHECK_CRC32) : lzma_alone_encoder(&ls, &opt),
            LZMA_OK);
  Buf out(in.size() + in.size() / 2 + 65536);
  ls.next_in = in.data();
  ls.avail_in = in.size();
  ls.next_out = out.data();
  ls.avail_out = out.size();
  EXPECT_EQ(lzma_code(&ls, LZMA_FINISH), LZMA_STREAM_END);
  out.resize(ls.total_out);
  lzma_end(&ls);
  return out;
}

// The legacy LZ4 frame (what `lz4 -l` writes): magic, then per 8 MiB block
// its compressed size (LE32) and the block.
inline Buf lz4_legacy(const Buf& in) {
  Buf out = {0x02, 0x21, 0x4C, 0x18};
  for (size_t pos = 0; pos < in.size(); pos += 8 * kMiB) {
    int n = static_cast<int>(std::min<size_t>(8 * kMiB, in.size() - pos));
    Buf block(LZ4_compressBound(n));
    int c = LZ4_compress_default(reinterpret_cast<const char*>(in.data() + pos),
                                 reinterpret_cast<char*>(block.data()), n,
                                 static_cast<int>(block.size()));
    EXPECT_GT(c, 0);
    uint32_t size = static_cast<uint32_t>(c);
    out.insert(out.end(), reinterpret_cast<uint8_t*>(&size), reinterpret_cast<uint8_t*>(&size) + 4);
    out.insert(out.end(), block.begin(), block.begin() + c);
  }
  return out;
}

inline Buf zstd(const Buf& in) {
  Buf out(ZSTD_compressBound(in.size()));
  size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

#ifdef VESSEL_HAVE_BZIP2
inline Buf bzip2(const Buf& in) {
  Buf out(in.size() + in.size() / 100 + 1024);
  unsigned n = static_cast<unsigned>(out.size());
  EXPECT_EQ(BZ2_bzBuffToBuffCompress(reinterpret_cast<char*>(out.data()), &n,
                                     const_cast<char*>(reinterpret_cast<const char*>(in.data())),
                                     static_cast<unsigned>(in.size()), 1, 0, 0),
            BZ_OK);
  out.resize(n);
  return out;
}
#endif

inline Buf compress(Compression c, const Buf& in) {
  switch (c) {
    case Compression::kGzip:
      return gzip(in);
    case Compression::kXz:
      return lzma_encode(in, true);
    case Compression::kLzma:
      return lzma_encode(in, false);
    case Compression::kLz4Legacy:
      return lz4_legacy(in);
    case Compression::kZstd:
      return zstd(in);
    case Compression::kBzip2:
#ifdef VESSEL_HAVE_BZIP2
      return bzip2(in);
#else
      break;
#endif
  }
  ADD_FAILURE() << "no compressor";
  return {};
}

}  // namespace vessel::test

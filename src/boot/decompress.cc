#include "boot/decompress.h"

#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>
#include <string>

#ifdef VESSEL_HAVE_BZIP2
#include <bzlib.h>
#endif

#include "boot/le_bytes.h"

namespace vessel {

namespace {

constexpr uint64_t kMiB = 1ull << 20;
// Decoder state the formats may ask for (xz/lzma dictionaries, the zstd
// window): Linux's build uses at most 64 MiB (lzma -9) and 128 MiB (zstd -22).
constexpr uint64_t kDecoderMemLimit = 256 * kMiB;
constexpr int kZstdWindowLogMax = 27;
constexpr uint32_t kLz4LegacyMagic = 0x184C2102;
constexpr uint64_t kLz4LegacyBlock = 8 * kMiB;
constexpr uint64_t kMaxOutput = 1ull << 40;  // keeps max_output + 1 from wrapping
// Buffers handed to the 32-bit length fields of zlib and libbz2.
constexpr uint64_t kChunk = 1ull << 30;

// The output: grows on demand, never past max_output + 1 bytes (one byte more
// than allowed is how "too big" is detected without guessing).
class OutBuf {
 public:
  explicit OutBuf(uint64_t max_output) : hard_cap_(max_output + 1) {}
  Status start(uint64_t initial) {
    return buf_.resize(std::min(hard_cap_, std::max<uint64_t>(initial, 1)));
  }
  bool full() const { return used_ == buf_.size(); }
  bool at_limit() const { return buf_.size() >= hard_cap_; }
  uint8_t* free_ptr() { return buf_.data() + used_; }
  uint64_t free_size() const { return buf_.size() - used_; }
  void produced(uint64_t n) { used_ += n; }
  uint64_t used() const { return used_; }
  // Makes room for more output (call only below the limit).
  Status grow() {
    return buf_.resize(std::min(hard_cap_, std::max<uint64_t>(buf_.size() * 2, kMiB)));
  }
  Expected<HostBuffer> take() {
    VESSEL_TRY(buf_.resize(used_));
    return std::move(buf_);
  }

 private:
  uint64_t hard_cap_;
  HostBuffer buf_;
  uint64_t used_ = 0;
};

// One call of a streaming decoder: how much it took and gave, and whether the
// stream ended or is broken.
struct Step {
  uint64_t in_used = 0, out_used = 0;
  enum { kMore, kEnd, kError } state = kMore;
  std::string error;
};

Step step_error(std::string msg) {
  Step s;
  s.state = Step::kError;
  s.error = std::move(msg);
  return s;
}

// Drives a streaming decoder over the whole input into a bounded buffer.
template <typename StepFn>
Expected<HostBuffer> pump(std::span<const uint8_t> input, OutBuf& out, uint64_t max_output,
                          StepFn step) {
  uint64_t in_pos = 0;
  for (;;) {
    if (out.full()) {
      if (out.at_limit()) break;
      VESSEL_TRY(out.grow());
    }
    Step s = step(input.subspan(in_pos), out.free_ptr(), out.free_size());
    in_pos += s.in_used;
    out.produced(s.out_used);
    if (s.state == Step::kError) return make_error("{}", s.error);
    if (s.state == Step::kEnd) {
      if (out.used() > max_output) break;
      if (in_pos != input.size()) {
        return make_error("{} bytes of other data follow the end of the compressed stream",
                          input.size() - in_pos);
      }
      return out.take();
    }
    if (s.in_used == 0 && s.out_used == 0 && !out.full()) {
      if (in_pos == input.size()) {
        return make_error("compressed stream is truncated (input ends after {} bytes of output)",
                          out.used());
      }
      return make_error("decoder stopped at input offset {} without reporting an error", in_pos);
    }
  }
  return make_error("decompressed data exceeds the limit of {} bytes", max_output);
}

Expected<HostBuffer> gunzip(std::span<const uint8_t> input, OutBuf& out, uint64_t max) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return make_error("zlib: cannot initialise");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  return pump(input, out, max, [&](std::span<const uint8_t> in, uint8_t* dst, uint64_t n) {
    zs.next_in = const_cast<Bytef*>(in.data());
    zs.avail_in = static_cast<uInt>(std::min<uint64_t>(in.size(), kChunk));
    zs.next_out = dst;
    zs.avail_out = static_cast<uInt>(std::min(n, kChunk));
    uInt in0 = zs.avail_in, out0 = zs.avail_out;
    int r = inflate(&zs, Z_NO_FLUSH);
    Step s;
    s.in_used = in0 - zs.avail_in;
    s.out_used = out0 - zs.avail_out;
    if (r == Z_STREAM_END) {
      s.state = Step::kEnd;
    } else if (r != Z_OK && r != Z_BUF_ERROR) {
      return step_error(fmt::format("gzip data is corrupt ({})", zs.msg ? zs.msg : "zlib error"));
    }
    return s;
  });
}

std::string lzma_problem(lzma_ret r) {
  switch (r) {
    case LZMA_MEMLIMIT_ERROR:
      return fmt::format("needs more than {} MiB of decoder memory", kDecoderMemLimit / kMiB);
    case LZMA_FORMAT_ERROR:
      return "not a valid stream header";
    case LZMA_OPTIONS_ERROR:
      return "unsupported options";
    case LZMA_DATA_ERROR:
      return "data is corrupt";
    case LZMA_MEM_ERROR:
      return "out of memory";
    default:
      return fmt::format("liblzma error {}", static_cast<int>(r));
  }
}

Expected<HostBuffer> unxz(Compression c, std::span<const uint8_t> input, OutBuf& out,
                          uint64_t max) {
  lzma_stream ls = LZMA_STREAM_INIT;
  lzma_ret init = c == Compression::kXz ? lzma_stream_decoder(&ls, kDecoderMemLimit, 0)
                                        : lzma_alone_decoder(&ls, kDecoderMemLimit);
  std::string_view name = compression_name(c);
  if (init != LZMA_OK) return make_error("{}: cannot initialise ({})", name, lzma_problem(init));
  std::unique_ptr<lzma_stream, void (*)(lzma_stream*)> guard(&ls, lzma_end);
  return pump(input, out, max, [&](std::span<const uint8_t> in, uint8_t* dst, uint64_t n) {
    ls.next_in = in.data();
    ls.avail_in = in.size();
    ls.next_out = dst;
    ls.avail_out = n;
    lzma_ret r = lzma_code(&ls, LZMA_FINISH);
    Step s;
    s.in_used = in.size() - ls.avail_in;
    s.out_used = n - ls.avail_out;
    if (r == LZMA_STREAM_END) {
      s.state = Step::kEnd;
    } else if (r != LZMA_OK && r != LZMA_BUF_ERROR) {
      return step_error(fmt::format("{} stream: {}", name, lzma_problem(r)));
    }
    return s;
  });
}

Expected<HostBuffer> unzstd(std::span<const uint8_t> input, OutBuf& out, uint64_t max) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!dctx) return make_error("zstd: cannot create a decoder");
  if (ZSTD_isError(ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, kZstdWindowLogMax))) {
    return make_error("zstd: cannot limit the window size");
  }
  return pump(input, out, max, [&](std::span<const uint8_t> in, uint8_t* dst, uint64_t n) {
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    ZSTD_outBuffer ob{dst, n, 0};
    size_t r = ZSTD_decompressStream(dctx.get(), &ob, &ib);
    if (ZSTD_isError(r)) {
      return step_error(fmt::format("zstd data is corrupt ({})", ZSTD_getErrorName(r)));
    }
    Step s;
    s.in_used = ib.pos;
    s.out_used = ob.pos;
    if (r == 0) s.state = Step::kEnd;
    return s;
  });
}

#ifdef VESSEL_HAVE_BZIP2
Expected<HostBuffer> bunzip2(std::span<const uint8_t> input, OutBuf& out, uint64_t max) {
  bz_stream bs{};
  if (BZ2_bzDecompressInit(&bs, 0, 0) != BZ_OK) return make_error("bzip2: cannot initialise");
  std::unique_ptr<bz_stream, int (*)(bz_stream*)> guard(&bs, BZ2_bzDecompressEnd);
  return pump(input, out, max, [&](std::span<const uint8_t> in, uint8_t* dst, uint64_t n) {
    bs.next_in = const_cast<char*>(reinterpret_cast<const char*>(in.data()));
    bs.avail_in = static_cast<unsigned>(std::min<uint64_t>(in.size(), kChunk));
    bs.next_out = reinterpret_cast<char*>(dst);
    bs.avail_out = static_cast<unsigned>(std::min(n, kChunk));
    unsigned in0 = bs.avail_in, out0 = bs.avail_out;
    int r = BZ2_bzDecompress(&bs);
    Step s;
    s.in_used = in0 - bs.avail_in;
    s.out_used = out0 - bs.avail_out;
    if (r == BZ_STREAM_END) {
      s.state = Step::kEnd;
    } else if (r != BZ_OK) {
      return step_error(fmt::format("bzip2 data is corrupt (libbz2 error {})", r));
    }
    return s;
  });
}
#endif

// The legacy LZ4 format (lz4 -l), which is what Linux builds: the magic, then
// blocks of at most 8 MiB of output, each after its compressed size (32-bit
// LE); a repeated magic starts another frame.
Expected<HostBuffer> unlz4_legacy(std::span<const uint8_t> input, OutBuf& out, uint64_t max) {
  uint64_t pos = 4;
  const uint64_t max_block_input = static_cast<uint64_t>(LZ4_compressBound(kLz4LegacyBlock));
  for (int block = 0; pos < input.size(); block++) {
    if (input.size() - pos < 4) {
      return make_error("lz4 stream is truncated inside the size of block {}", block);
    }
    uint32_t n = get_le<uint32_t>(input, pos);
    pos += 4;
    if (n == kLz4LegacyMagic) continue;
    if (n == 0 || n > max_block_input) {
      return make_error("lz4 block {} claims {} compressed bytes (at most {})", block, n,
                        max_block_input);
    }
    if (n > input.size() - pos) {
      return make_error("lz4 stream is truncated: block {} needs {} bytes, {} are left", block, n,
                        input.size() - pos);
    }
    while (out.free_size() < kLz4LegacyBlock && !out.at_limit()) VESSEL_TRY(out.grow());
    uint64_t room = std::min(out.free_size(), kLz4LegacyBlock);
    const char* src = reinterpret_cast<const char*>(input.data() + pos);
    int r = LZ4_decompress_safe(src, reinterpret_cast<char*>(out.free_ptr()), static_cast<int>(n),
                                static_cast<int>(room));
    if (r < 0 && room < kLz4LegacyBlock) {
      // Corrupt, or only too big for the room left under the limit?
      auto scratch = std::make_unique_for_overwrite<char[]>(kLz4LegacyBlock);
      if (LZ4_decompress_safe(src, scratch.get(), static_cast<int>(n),
                              static_cast<int>(kLz4LegacyBlock)) >= 0) {
        return make_error("decompressed data exceeds the limit of {} bytes", max);
      }
    }
    if (r < 0) return make_error("lz4 block {} (at offset {}) is corrupt", block, pos - 4);
    out.produced(static_cast<uint64_t>(r));
    if (out.used() > max) return make_error("decompressed data exceeds the limit of {} bytes", max);
    pos += n;
  }
  return out.take();
}

}  // namespace

std::optional<Compression> detect_compression(std::span<const uint8_t> d) {
  auto starts = [&](std::initializer_list<uint8_t> magic) {
    return d.size() >= magic.size() && std::equal(magic.begin(), magic.end(), d.begin());
  };
  if (starts({0x1F, 0x8B})) return Compression::kGzip;
  if (starts({0xFD, '7', 'z', 'X', 'Z', 0x00})) return Compression::kXz;
  if (starts({0x5D, 0x00, 0x00})) return Compression::kLzma;
  if (starts({0x02, 0x21, 0x4C, 0x18})) return Compression::kLz4Legacy;
  if (starts({0x28, 0xB5, 0x2F, 0xFD})) return Compression::kZstd;
  if (starts({'B', 'Z', 'h'})) return Compression::kBzip2;
  return std::nullopt;
}

std::string_view compression_name(Compression c) {
  switch (c) {
    case Compression::kGzip:
      return "gzip";
    case Compression::kXz:
      return "xz";
    case Compression::kLzma:
      return "lzma";
    case Compression::kLz4Legacy:
      return "lz4 (legacy frame)";
    case Compression::kZstd:
      return "zstd";
    case Compression::kBzip2:
      return "bzip2";
  }
  return "unknown";
}

bool compression_supported(Compression c) {
#ifdef VESSEL_HAVE_BZIP2
  (void)c;
  return true;
#else
  return c != Compression::kBzip2;
#endif
}

Expected<HostBuffer> decompress(Compression c, std::span<const uint8_t> input, uint64_t max_output,
                                uint64_t size_hint) {
  if (detect_compression(input) != c) {
    return make_error("data does not start with the {} magic", compression_name(c));
  }
  max_output = std::min(max_output, kMaxOutput);
  uint64_t initial = size_hint ? size_hint + 4096 : std::max<uint64_t>(input.size() * 4, kMiB);
  OutBuf out(max_output);
  VESSEL_TRY(out.start(initial));
  switch (c) {
    case Compression::kGzip:
      return gunzip(input, out, max_output);
    case Compression::kXz:
    case Compression::kLzma:
      return unxz(c, input, out, max_output);
    case Compression::kZstd:
      return unzstd(input, out, max_output);
    case Compression::kLz4Legacy:
      return unlz4_legacy(input, out, max_output);
    case Compression::kBzip2:
#ifdef VESSEL_HAVE_BZIP2
      return bunzip2(input, out, max_output);
#else
      return make_error(
          "this vessel was built without libbz2, so it cannot decompress a bzip2 kernel; use "
          "--kernel-format bzimage to boot it through its own decompressor");
#endif
  }
  return make_error("unknown compression");
}

}  // namespace vessel

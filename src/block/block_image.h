// A disk image as virtio-blk and its I/O engines see it: a guest-visible size
// and a map from guest byte ranges to ranges of one host file. The engines
// (threads, io_uring) do the data I/O themselves on fd() at the offsets map()
// returns, so every format shares both engines and every cache mode; a
// format only answers "where do these bytes live" and keeps its metadata.
//
// Formats: raw (the file is the disk) and qcow2 (block/qcow2.h). The cache
// mode decides how the file is opened (block_file.h): none = O_DIRECT (data
// buffers and offsets aligned to kDirectAlign, or bounced by the engine),
// writethrough = O_DSYNC, writeback and unsafe = neither (unsafe: flush()
// requests are not passed on).
//
// Threading: map(), flush(), write_zeroes() and discard() may be called
// concurrently from I/O threads; each format serializes its own metadata.
// Safety against a hostile guest: a format never hands out host space that
// an earlier map() may still be writing to for anything else (qcow2 only
// allocates at the end of the file), so racing guest requests can garble the
// guest's own data but never the image's metadata.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace vessel {

enum class BlockFormat { kAuto, kRaw, kQcow2 };
enum class CacheMode { kNone, kWriteback, kWritethrough, kUnsafe };

Expected<BlockFormat> parse_block_format(std::string_view text);
Expected<CacheMode> parse_cache_mode(std::string_view text);
std::string_view cache_mode_name(CacheMode mode);

struct BlockOpenOptions {
  std::string path;
  BlockFormat format = BlockFormat::kAuto;  // kAuto: qcow2 if the magic says so, else raw
  bool read_only = false;
  CacheMode cache = CacheMode::kWriteback;
};

// One piece of a mapped range.
struct BlockRun {
  static constexpr uint64_t kZero = ~0ull;
  uint64_t length = 0;
  // Where the bytes are in the host file, or kZero for bytes that read as
  // zero and have no host space (never returned for a write).
  uint64_t host_offset = kZero;
};

class BlockImage {
 public:
  // Buffer and offset alignment for O_DIRECT (cache=none) and for a
  // format's own metadata I/O.
  static constexpr uint64_t kDirectAlign = 4096;
  static constexpr uint64_t kSectorSize = 512;

  virtual ~BlockImage() = default;

  virtual std::string_view format() const = 0;
  // Guest-visible size in bytes (a multiple of kSectorSize).
  virtual uint64_t size() const = 0;
  virtual bool read_only() const = 0;
  // The host file the data lives in, opened for the cache mode; the image
  // owns it.
  virtual int fd() const = 0;
  virtual CacheMode cache() const = 0;

  // Appends to `runs` where guest bytes [offset, offset + length) live, in
  // order, the run lengths adding up to `length`. The range must lie inside
  // size() (an Error otherwise). With `write`, whatever is not allocated yet
  // is allocated first, so every run has host space; a read-only image
  // refuses writes.
  virtual Status map(uint64_t offset, uint64_t length, bool write, std::vector<BlockRun>& runs) = 0;
  // Makes the format's metadata durable up to the file: called before the
  // engine's fdatasync(fd()) for a guest flush.
  virtual Status flush() = 0;
  // Guest bytes [offset, offset + length) read as zero afterwards; with
  // `unmap` the host space may be released.
  virtual Status write_zeroes(uint64_t offset, uint64_t length, bool unmap) = 0;
  // The guest no longer needs [offset, offset + length): host space may be
  // released, and the bytes read as zero or as before.
  virtual Status discard(uint64_t offset, uint64_t length) = 0;
};

// Opens `options.path` in the format asked for (or detected).
Expected<std::unique_ptr<BlockImage>> open_block_image(const BlockOpenOptions& options);

}  // namespace vessel

#include "block/block_image.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/owned_fd.h"
#include "block/block_file.h"
#include "block/qcow2.h"

namespace vessel {

Expected<BlockFormat> parse_block_format(std::string_view text) {
  if (text == "raw") return BlockFormat::kRaw;
  if (text == "qcow2") return BlockFormat::kQcow2;
  return make_error("unknown disk format '{}' (raw or qcow2)", text);
}

Expected<CacheMode> parse_cache_mode(std::string_view text) {
  if (text == "none") return CacheMode::kNone;
  if (text == "writeback") return CacheMode::kWriteback;
  if (text == "writethrough") return CacheMode::kWritethrough;
  if (text == "unsafe") return CacheMode::kUnsafe;
  return make_error("unknown cache mode '{}' (none, writeback, writethrough or unsafe)", text);
}

std::string_view cache_mode_name(CacheMode mode) {
  switch (mode) {
    case CacheMode::kNone:
      return "none";
    case CacheMode::kWriteback:
      return "writeback";
    case CacheMode::kWritethrough:
      return "writethrough";
    case CacheMode::kUnsafe:
      return "unsafe";
  }
  return "?";
}

Expected<OwnedFd> open_image_file(const std::string& path, bool read_only, CacheMode cache) {
  int flags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
  if (cache == CacheMode::kNone) flags |= O_DIRECT;
  if (cache == CacheMode::kWritethrough) flags |= O_DSYNC;
  OwnedFd fd(::open(path.c_str(), flags));
  if (!fd.valid()) {
    int err = errno;
    if (err == ENOENT) return make_error("disk image '{}' does not exist", path);
    if (err == EINVAL && cache == CacheMode::kNone) {
      return make_error(
          "cannot open disk image '{}' with cache=none: its file system does not support "
          "O_DIRECT (use another cache mode)",
          path);
    }
    return make_error("cannot open disk image '{}'{}: {}", path, read_only ? "" : " for writing",
                      std::strerror(err));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return make_error("cannot stat disk image '{}': {}", path, std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
    return make_error("disk image '{}' is not a regular file or a block device", path);
  }
  return fd;
}

Expected<uint64_t> image_file_size(int fd) {
  off_t end = ::lseek(fd, 0, SEEK_END);
  if (end < 0)
    return make_error("cannot find the size of the disk image: {}", std::strerror(errno));
  return static_cast<uint64_t>(end);
}

Status read_file_exact(int fd, uint64_t offset, std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error("read at offset {}: {}", offset + done, std::strerror(errno));
    if (n == 0) return make_error("read at offset {}: unexpected end of file", offset + done);
    done += static_cast<size_t>(n);
  }
  return ok_status();
}

Status write_file_exact(int fd, uint64_t offset, std::span<const uint8_t> data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n =
        ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error("write at offset {}: {}", offset + done, std::strerror(errno));
    if (n == 0) return make_error("write at offset {}: no progress", offset + done);
    done += static_cast<size_t>(n);
  }
  return ok_status();
}

Status zero_file_range(int fd, uint64_t offset, uint64_t length, bool unmap) {
  if (length == 0) return ok_status();
  int mode = unmap ? (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) : FALLOC_FL_ZERO_RANGE;
  if (::fallocate(fd, mode, static_cast<off_t>(offset), static_cast<off_t>(length)) == 0) {
    return ok_status();
  }
  if (unmap && ::fallocate(fd, FALLOC_FL_ZERO_RANGE, static_cast<off_t>(offset),
                           static_cast<off_t>(length)) == 0) {
    return ok_status();
  }
  // No fallocate support (or a block device): write zeros, aligned for O_DIRECT.
  constexpr size_t kChunk = 1 << 20;
  void* raw = nullptr;
  if (::posix_memalign(&raw, BlockImage::kDirectAlign, kChunk) != 0) {
    return make_error("out of memory zeroing the disk image");
  }
  std::unique_ptr<uint8_t, decltype(&std::free)> zeros(static_cast<uint8_t*>(raw), &std::free);
  std::memset(zeros.get(), 0, kChunk);
  for (uint64_t done = 0; done < length;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, length - done));
    VESSEL_TRY(write_file_exact(fd, offset + done, std::span<const uint8_t>(zeros.get(), n)));
    done += n;
  }
  return ok_status();
}

namespace {

// A raw image: the file is the disk, byte for byte.
class RawImage : public BlockImage {
 public:
  RawImage(OwnedFd fd, uint64_t size, bool read_only, CacheMode cache)
      : fd_(std::move(fd)), size_(size), read_only_(read_only), cache_(cache) {}

  std::string_view format() const override { return "raw"; }
  uint64_t size() const override { return size_; }
  bool read_only() const override { return read_only_; }
  int fd() const override { return fd_.get(); }
  CacheMode cache() const override { return cache_; }

  Status map(uint64_t offset, uint64_t length, bool write, std::vector<BlockRun>& runs) override {
    VESSEL_TRY(check(offset, length, write));
    if (length > 0) runs.push_back({length, offset});
    return ok_status();
  }
  Status flush() override { return ok_status(); }
  Status write_zeroes(uint64_t offset, uint64_t length, bool unmap) override {
    VESSEL_TRY(check(offset, length, true));
    return zero_file_range(fd_.get(), offset, length, unmap);
  }
  Status discard(uint64_t offset, uint64_t length) override {
    VESSEL_TRY(check(offset, length, true));
    // Punching a hole leaves zeros; where the file system cannot, nothing
    // changes, which discard allows.
    if (length > 0) {
      ::fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                  static_cast<off_t>(length));
    }
    return ok_status();
  }

 private:
  Status check(uint64_t offset, uint64_t length, bool write) const {
    if (offset > size_ || length > size_ - offset) {
      return make_error("access at {:#x}+{:#x} is outside the {}-byte disk", offset, length, size_);
    }
    if (write && read_only_) return make_error("the disk is read-only");
    return ok_status();
  }

  OwnedFd fd_;
  uint64_t size_;
  bool read_only_;
  CacheMode cache_;
};

}  // namespace

Expected<std::unique_ptr<BlockImage>> open_block_image(const BlockOpenOptions& options) {
  if (options.path.empty()) return make_error("no disk image path given");
  VESSEL_ASSIGN(OwnedFd fd, open_image_file(options.path, options.read_only, options.cache));
  BlockFormat format = options.format;
  if (format == BlockFormat::kAuto) {
    VESSEL_ASSIGN(bool qcow2, is_qcow2_file(fd.get()));
    format = qcow2 ? BlockFormat::kQcow2 : BlockFormat::kRaw;
  }
  if (format == BlockFormat::kQcow2) {
    auto image = open_qcow2_image(std::move(fd), options);
    if (!image.ok()) return with_context(image.error(), "disk image '" + options.path + "'");
    return image;
  }
  VESSEL_ASSIGN(uint64_t size, image_file_size(fd.get()));
  if (size % BlockImage::kSectorSize != 0) {
    return make_error("raw disk image '{}' is {} bytes, not a multiple of {}", options.path, size,
                      BlockImage::kSectorSize);
  }
  return std::unique_ptr<BlockImage>(
      new RawImage(std::move(fd), size, options.read_only, options.cache));
}

}  // namespace vessel

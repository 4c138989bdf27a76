// Host-file helpers shared by the image formats (block_image.cc holds them).
// With cache=none the file is open with O_DIRECT: buffers passed here must
// then be aligned to BlockImage::kDirectAlign, and offsets and lengths be
// multiples of it.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/error.h"
#include "base/owned_fd.h"
#include "block/block_image.h"

namespace vessel {

// Opens a disk image file with the flags of `cache` (O_DIRECT, O_DSYNC).
// Errors name the path and say what is wrong (missing, no O_DIRECT, ...).
Expected<OwnedFd> open_image_file(const std::string& path, bool read_only, CacheMode cache);
Expected<uint64_t> image_file_size(int fd);
// pread/pwrite until every byte is done (EINTR and short transfers retried);
// reading past the end of the file is an error.
Status read_file_exact(int fd, uint64_t offset, std::span<uint8_t> out);
Status write_file_exact(int fd, uint64_t offset, std::span<const uint8_t> data);
// Makes [offset, offset + length) of the file read as zero: fallocate
// (punching a hole when `unmap`), else by writing zeros.
Status zero_file_range(int fd, uint64_t offset, uint64_t length, bool unmap);

}  // namespace vessel

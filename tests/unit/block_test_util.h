// Helpers for the block tests: a disk image file in $TMPDIR (or /tmp, which
// must support O_DIRECT for the cache=none tests) filled with a known
// pattern, and direct reads of it.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace vessel::testing {

inline uint8_t disk_byte(uint64_t offset) {
  return static_cast<uint8_t>(offset * 13 + (offset >> 9) * 5 + 1);
}

class TempImage {
 public:
  explicit TempImage(uint64_t size) {
    const char* dir = getenv("TMPDIR");
    path_ = std::string(dir ? dir : "/tmp") + "/vessel-blk-test-XXXXXX";
    int fd = mkstemp(path_.data());
    EXPECT_GE(fd, 0);
    std::vector<uint8_t> data(size);
    for (uint64_t i = 0; i < size; i++) data[i] = disk_byte(i);
    EXPECT_EQ(pwrite(fd, data.data(), data.size(), 0), static_cast<ssize_t>(size));
    close(fd);
  }
  ~TempImage() { unlink(path_.c_str()); }
  TempImage(const TempImage&) = delete;
  TempImage& operator=(const TempImage&) = delete;
  const std::string& path() const { return path_; }

  // The file's bytes [offset, offset + len), read past any cache mode.
  std::vector<uint8_t> read(uint64_t offset, size_t len) const {
    std::vector<uint8_t> out(len);
    int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(pread(fd, out.data(), len, static_cast<off_t>(offset)), static_cast<ssize_t>(len));
    close(fd);
    return out;
  }

 private:
  std::string path_;
};

}  // namespace vessel::testing

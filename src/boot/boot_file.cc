#include "boot/boot_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/owned_fd.h"

namespace vessel {

Expected<std::vector<uint8_t>> read_boot_file(const std::string& path, std::string_view what,
                                              uint64_t max_size) {
  if (path.empty()) return make_error("no {} file given", what);
  OwnedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return make_error("{} file '{}' does not exist", what, path);
    return make_error("cannot open {} file '{}': {}", what, path, std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return make_error("cannot stat {} file '{}': {}", what, path, std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return make_error("{} file '{}' is not a regular file", what, path);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size == 0) return make_error("{} file '{}' is empty", what, path);
  if (size > max_size) {
    return make_error("{} file '{}' is too big for guest memory ({} bytes, the guest has {} MiB)",
                      what, path, size, max_size >> 20);
  }
  std::vector<uint8_t> data(size);
  uint64_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd.get(), data.data() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error("cannot read {} file '{}': {}", what, path, std::strerror(errno));
    if (n == 0) return make_error("{} file '{}' shrank while being read", what, path);
    done += static_cast<uint64_t>(n);
  }
  return data;
}

}  // namespace vessel

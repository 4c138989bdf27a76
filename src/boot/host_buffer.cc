#include "boot/host_buffer.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace vessel {

namespace {

constexpr uint64_t kHugePage = 2ull << 20;

uint64_t round_up(uint64_t v) {
  return (v + kHugePage - 1) & ~(kHugePage - 1);
}

}  // namespace

HostBuffer::~HostBuffer() {
  if (base_) ::munmap(base_, mapped_);
}

HostBuffer::HostBuffer(HostBuffer&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)) {}

HostBuffer& HostBuffer::operator=(HostBuffer&& other) noexcept {
  if (this != &other) {
    if (base_) ::munmap(base_, mapped_);
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

Status HostBuffer::resize(uint64_t size) {
  uint64_t want = round_up(size);
  if (want < size) return make_error("cannot allocate {} bytes", size);
  if (want != mapped_) {
    void* p;
    if (want == 0) {
      ::munmap(base_, mapped_);
      p = nullptr;
    } else if (base_ == nullptr) {
      p = ::mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    } else {
      p = ::mremap(base_, mapped_, want, MREMAP_MAYMOVE);
    }
    if (p == MAP_FAILED) {
      return make_error("cannot allocate {} MiB for decompression: {}", want >> 20,
                        std::strerror(errno));
    }
    // Only a hint: without huge pages the buffer works the same, more slowly.
    if (p) ::madvise(p, want, MADV_HUGEPAGE);
    base_ = p;
    mapped_ = want;
  }
  // Bytes between a shrunk size and the mapping's end may hold old data.
  if (size < size_ && size < mapped_)
    std::memset(data() + size, 0, std::min(size_, mapped_) - size);
  size_ = size;
  return ok_status();
}

}  // namespace vessel

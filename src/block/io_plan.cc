#include "block/io_plan.h"

#include <fcntl.h>
#include <linux/stat.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "block/block_file.h"
#include "block/block_image.h"
#include "block/io_engine.h"

namespace vessel {

namespace {

// Appends the part [pos, pos + len) of the buffer list `iov` to `out`.
void slice_iov(const std::vector<iovec>& iov, uint64_t pos, uint64_t len, std::vector<iovec>& out) {
  for (const iovec& v : iov) {
    if (len == 0) return;
    if (pos >= v.iov_len) {
      pos -= v.iov_len;
      continue;
    }
    uint64_t n = std::min<uint64_t>(v.iov_len - pos, len);
    out.push_back({static_cast<uint8_t*>(v.iov_base) + pos, static_cast<size_t>(n)});
    len -= n;
    pos = 0;
  }
}

bool aligned_to(uint64_t v, uint32_t a) {
  return a <= 1 || v % a == 0;
}

void free_bounce(uint8_t* p) {
  std::free(p);
}

// The coalescing buffers: kCoalesceBytes each, 2 MiB-aligned and offered to
// transparent huge pages, made on first need; kCoalesceIdle of them stay
// mapped when the pool is idle.
class CoalescePool {
 public:
  // give_back runs in a noexcept deleter: the free list never grows.
  CoalescePool() { free_.reserve(kCoalesceBuffers); }
  // A free buffer, or null when kCoalesceBuffers are in use (or mmap fails).
  uint8_t* take() {
    std::lock_guard lock(mu_);
    if (free_.empty()) {
      if (mapped_ == kCoalesceBuffers) return nullptr;
      uint8_t* p = make();
      if (!p) return nullptr;
      mapped_++;
      free_.push_back(p);
    }
    uint8_t* p = free_.back();
    free_.pop_back();
    return p;
  }
  // Returns a buffer; once none is in use, all but kCoalesceIdle are
  // unmapped (trimming earlier would unmap and remap buffers while more
  // than kCoalesceIdle requests keep coming).
  void give_back(uint8_t* p) {
    std::lock_guard lock(mu_);
    free_.push_back(p);
    if (free_.size() < mapped_) return;
    while (free_.size() > kCoalesceIdle) {
      ::munmap(free_.back(), kCoalesceBytes);
      free_.pop_back();
      mapped_--;
    }
  }
  void count_segment() {
    std::lock_guard lock(mu_);
    segments_++;
  }
  CoalescePoolStats stats() {
    std::lock_guard lock(mu_);
    return {mapped_ - free_.size(), mapped_, segments_};
  }

 private:
  static uint8_t* make() {
    const uintptr_t huge = 2u << 20;
    void* raw = ::mmap(nullptr, kCoalesceBytes + huge, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return nullptr;
    uintptr_t start = reinterpret_cast<uintptr_t>(raw);
    uintptr_t aligned = (start + huge - 1) & ~(huge - 1);
    if (aligned > start) ::munmap(raw, aligned - start);
    uintptr_t end = aligned + kCoalesceBytes;
    if (start + kCoalesceBytes + huge > end) {
      ::munmap(reinterpret_cast<void*>(end), start + kCoalesceBytes + huge - end);
    }
    ::madvise(reinterpret_cast<void*>(aligned), kCoalesceBytes, MADV_HUGEPAGE);
    return reinterpret_cast<uint8_t*>(aligned);
  }

  std::mutex mu_;
  std::vector<uint8_t*> free_;
  size_t mapped_ = 0;
  uint64_t segments_ = 0;
};

CoalescePool& coalesce_pool() {
  static CoalescePool* pool = new CoalescePool();  // outlives every request
  return *pool;
}

void give_back_coalesce(uint8_t* p) {
  coalesce_pool().give_back(p);
}

// Whether an aligned O_DIRECT run of `length` bytes in the guest buffers
// `slice` is worth coalescing.
bool fragmented(const std::vector<iovec>& slice, uint64_t length) {
  return length >= kCoalesceMinBytes && slice.size() * kCoalescePieceBytes > length;
}

// Reads until done; past the end of the file the rest reads as zero.
// Writes until done. 0 or an errno value.
int transfer(int fd, bool write, IoSegment& seg) {
  std::vector<iovec> rest;
  while (seg.done < seg.length) {
    rest.clear();
    advance_iov(seg.iov, seg.done, rest);
    size_t count = std::min<size_t>(rest.size(), IOV_MAX);
    off_t at = static_cast<off_t>(seg.offset + seg.done);
    ssize_t n = write ? ::pwritev(fd, rest.data(), static_cast<int>(count), at)
                      : ::preadv(fd, rest.data(), static_cast<int>(count), at);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return errno;
    }
    uint64_t want = 0;
    for (size_t i = 0; i < count; i++) want += rest[i].iov_len;
    if (write && n == 0) return EIO;
    seg.done += static_cast<uint64_t>(n);
    if (!write && static_cast<uint64_t>(n) < want) after_short_read(fd, seg, n == 0);
  }
  return 0;
}

}  // namespace

DirectAlign probe_direct_align(int fd) {
  struct statx stx;
  std::memset(&stx, 0, sizeof(stx));
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
      (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align != 0) {
    return {stx.stx_dio_offset_align, std::max<uint32_t>(stx.stx_dio_mem_align, 1)};
  }
  return {static_cast<uint32_t>(BlockImage::kDirectAlign),
          static_cast<uint32_t>(BlockImage::kDirectAlign)};
}

CoalescePoolStats coalesce_pool_stats() {
  return coalesce_pool().stats();
}

bool at_end_of_image(int fd, uint64_t pos) {
  Expected<uint64_t> size = image_file_size(fd);
  return size.ok() && pos >= size.value();
}

void after_short_read(int fd, IoSegment& seg, bool no_progress) {
  if (!no_progress && !at_end_of_image(fd, seg.offset + seg.done)) return;
  std::vector<iovec> rest;
  advance_iov(seg.iov, seg.done, rest);
  for (const iovec& v : rest) std::memset(v.iov_base, 0, v.iov_len);
  seg.done = seg.length;
}

void advance_iov(const std::vector<iovec>& iov, uint64_t done, std::vector<iovec>& out) {
  for (const iovec& v : iov) {
    if (done >= v.iov_len) {
      done -= v.iov_len;
      continue;
    }
    out.push_back({static_cast<uint8_t*>(v.iov_base) + done, v.iov_len - done});
    done = 0;
  }
}

void copy_to_iov(const std::vector<iovec>& iov, const uint8_t* src) {
  for (const iovec& v : iov) {
    std::memcpy(v.iov_base, src, v.iov_len);
    src += v.iov_len;
  }
}

void copy_from_iov(const std::vector<iovec>& iov, uint8_t* dst) {
  for (const iovec& v : iov) {
    std::memcpy(dst, v.iov_base, v.iov_len);
    dst += v.iov_len;
  }
}

namespace {

// The pool buffer a request's coalesced runs are being packed into.
struct Packing {
  uint8_t* buf = nullptr;
  uint64_t used = 0;
};

// Plans the aligned run [offset, offset + length) of guest buffers `slice`
// as coalesced segments packed one after another into the request's pool
// buffers (a run that does not fit in the rest of one continues in the
// next); what finds the pool empty goes direct.
void plan_coalesced(IoRequest& req, Packing& pack, uint64_t offset, uint64_t length,
                    const std::vector<iovec>& slice, bool write) {
  for (uint64_t at = 0; at < length;) {
    if (!pack.buf || pack.used == kCoalesceBytes) {
      pack = {coalesce_pool().take(), 0};
      if (!pack.buf) {
        IoSegment& seg = req.segments.emplace_back();
        seg.offset = offset + at;
        seg.length = length - at;
        slice_iov(slice, at, length - at, seg.iov);
        return;
      }
      req.buffers.push_back({pack.buf, &give_back_coalesce});
    }
    uint64_t n = std::min(kCoalesceBytes - pack.used, length - at);
    IoSegment& seg = req.segments.emplace_back();
    seg.offset = offset + at;
    seg.length = n;
    slice_iov(slice, at, n, seg.guest);
    seg.bounce = pack.buf + pack.used;
    seg.iov = {{seg.bounce, static_cast<size_t>(n)}};
    if (write) copy_from_iov(seg.guest, seg.bounce);
    pack.used += n;
    at += n;
    coalesce_pool().count_segment();
  }
}

}  // namespace

Status plan_request(IoRequest& req, const DirectAlign& align) {
  bool write = req.op == IoRequest::Op::kWrite;
  req.segments.clear();
  req.buffers.clear();
  uint64_t buffers = 0, runs = 0;
  for (const iovec& v : req.iov) buffers += v.iov_len;
  for (const BlockRun& r : req.runs) runs += r.length;
  if (buffers != runs) {
    return make_error("I/O request of {} bytes of buffers for {} bytes of disk", buffers, runs);
  }
  uint64_t pos = 0;
  std::vector<iovec> slice;
  Packing pack;
  for (const BlockRun& run : req.runs) {
    slice.clear();
    slice_iov(req.iov, pos, run.length, slice);
    pos += run.length;
    if (run.length == 0) continue;
    if (run.host_offset == BlockRun::kZero) {
      if (write) return make_error("a write was mapped to an unallocated run");
      for (const iovec& v : slice) std::memset(v.iov_base, 0, v.iov_len);
      continue;
    }
    bool aligned = true;
    if (align.direct()) {
      aligned = aligned_to(run.host_offset, align.offset) && aligned_to(run.length, align.offset);
      for (const iovec& v : slice) {
        aligned = aligned && aligned_to(reinterpret_cast<uintptr_t>(v.iov_base), align.memory) &&
                  aligned_to(v.iov_len, align.memory);
      }
    }
    if (aligned && align.direct() && fragmented(slice, run.length)) {
      plan_coalesced(req, pack, run.host_offset, run.length, slice, write);
      continue;
    }
    IoSegment& seg = req.segments.emplace_back();
    seg.offset = run.host_offset;
    seg.length = run.length;
    if (aligned) {
      seg.iov = slice;
      continue;
    }
    uint64_t a = align.offset;
    uint64_t start = run.host_offset / a * a;
    uint64_t end = (run.host_offset + run.length + a - 1) / a * a;
    void* raw = nullptr;
    size_t buf_align = std::max<size_t>({a, align.memory, sizeof(void*)});
    if (::posix_memalign(&raw, buf_align, end - start) != 0) {
      return make_error("out of memory for a {}-byte bounce buffer", end - start);
    }
    req.buffers.push_back({static_cast<uint8_t*>(raw), &free_bounce});
    seg.bounce = static_cast<uint8_t*>(raw);
    seg.skip = run.host_offset - start;
    seg.guest = slice;
    seg.offset = start;
    seg.length = end - start;
    seg.iov = {{raw, static_cast<size_t>(end - start)}};
    if (write) {
      seg.rmw = start != run.host_offset || end != run.host_offset + run.length;
      if (!seg.rmw) copy_from_iov(seg.guest, seg.bounce);
    }
  }
  return ok_status();
}

void finish_request(IoRequest& req) {
  if (req.op != IoRequest::Op::kRead || req.error != 0) return;
  for (IoSegment& seg : req.segments) {
    if (seg.bounce) copy_to_iov(seg.guest, seg.bounce + seg.skip);
  }
}

void merge_rmw(IoSegment& seg) {
  copy_from_iov(seg.guest, seg.bounce + seg.skip);
}

int run_segment_sync(int fd, bool write, IoSegment& seg, std::mutex& rmw_mu) {
  if (write && seg.rmw) {
    std::lock_guard lock(rmw_mu);
    seg.done = 0;
    if (int err = transfer(fd, false, seg); err != 0) return err;
    merge_rmw(seg);
    seg.done = 0;
    return transfer(fd, true, seg);
  }
  return transfer(fd, write, seg);
}

}  // namespace vessel

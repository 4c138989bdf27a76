#include "block/io_plan.h"

#include <fcntl.h>
#include <linux/stat.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

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
    if (!write && static_cast<uint64_t>(n) < want) {
      struct stat st;
      if (::fstat(fd, &st) != 0) return errno;
      if (seg.offset + seg.done + static_cast<uint64_t>(n) >= static_cast<uint64_t>(st.st_size)) {
        // End of file: the rest reads as zero.
        seg.done += static_cast<uint64_t>(n);
        rest.clear();
        advance_iov(seg.iov, seg.done, rest);
        for (const iovec& v : rest) std::memset(v.iov_base, 0, v.iov_len);
        seg.done = seg.length;
        return 0;
      }
    }
    seg.done += static_cast<uint64_t>(n);
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

Status plan_request(IoRequest& req, const DirectAlign& align) {
  bool write = req.op == IoRequest::Op::kWrite;
  req.segments.clear();
  uint64_t buffers = 0, runs = 0;
  for (const iovec& v : req.iov) buffers += v.iov_len;
  for (const BlockRun& r : req.runs) runs += r.length;
  if (buffers != runs) {
    return make_error("I/O request of {} bytes of buffers for {} bytes of disk", buffers, runs);
  }
  uint64_t pos = 0;
  std::vector<iovec> slice;
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
    IoSegment& seg = req.segments.emplace_back();
    seg.offset = run.host_offset;
    seg.length = run.length;
    bool aligned = true;
    if (align.direct()) {
      aligned = aligned_to(seg.offset, align.offset) && aligned_to(seg.length, align.offset);
      for (const iovec& v : slice) {
        aligned = aligned && aligned_to(reinterpret_cast<uintptr_t>(v.iov_base), align.memory) &&
                  aligned_to(v.iov_len, align.memory);
      }
    }
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
    seg.bounce.reset(static_cast<uint8_t*>(raw));
    seg.skip = run.host_offset - start;
    seg.guest = slice;
    seg.offset = start;
    seg.length = end - start;
    seg.iov = {{raw, static_cast<size_t>(end - start)}};
    if (write) {
      seg.rmw = start != run.host_offset || end != run.host_offset + run.length;
      if (!seg.rmw) copy_from_iov(seg.guest, seg.bounce.get());
    }
  }
  return ok_status();
}

void finish_request(IoRequest& req) {
  if (req.op != IoRequest::Op::kRead || req.error != 0) return;
  for (IoSegment& seg : req.segments) {
    if (seg.bounce) copy_to_iov(seg.guest, seg.bounce.get() + seg.skip);
  }
}

void merge_rmw(IoSegment& seg) {
  copy_from_iov(seg.guest, seg.bounce.get() + seg.skip);
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

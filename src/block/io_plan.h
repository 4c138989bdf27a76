// How a read or write request of the I/O engines (io_engine.h) becomes host
// transfers: one IoSegment per non-zero file run, its iovecs sliced out of
// the guest buffers. With O_DIRECT (cache=none) a segment whose file offset,
// length or guest buffers are not aligned for direct I/O is bounced: it
// transfers the enclosing aligned file range through an aligned buffer; a
// bounced write that covers only part of its first or last block first reads
// the range (read-modify-write, serialized by the caller so two partial
// writes of one block cannot undo each other).
//
// Also with O_DIRECT, a large aligned run whose guest buffers are many small
// pieces (a guest's 4 KiB pages, scattered) is coalesced: it moves through a
// contiguous, huge-page-backed buffer of a process-wide pool, copied on the
// host; one request's coalesced runs are packed into the same buffer. The
// host block layer then builds one physical segment for a run instead of
// one per piece, and a device that pays per segment or splits requests at
// its segment limit (virtio-blk: 254) reads and writes far faster: measured
// on a VM host, 1 MiB preadv of 256 scattered pages 815 MiB/s, the same into
// one buffer plus the copy out 2070 MiB/s (pwritev 2530 against 3490).
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>

#include "base/error.h"

namespace vessel {

struct IoRequest;

// A bounce buffer (freed) or a coalescing pool buffer (returned to the pool).
using StageBuffer = std::unique_ptr<uint8_t, void (*)(uint8_t*)>;

// What O_DIRECT needs: file offsets and lengths multiple of `offset`, buffer
// addresses and lengths of `memory`. {0, 0}: no O_DIRECT, nothing to align.
struct DirectAlign {
  uint32_t offset = 0;
  uint32_t memory = 0;
  bool direct() const { return offset != 0; }
};

// Asks the file system (statx STATX_DIOALIGN) what O_DIRECT on `fd` needs;
// BlockImage::kDirectAlign where it does not say.
DirectAlign probe_direct_align(int fd);

// Coalescing (above): a run of at least kCoalesceMinBytes whose guest pieces
// average under kCoalescePieceBytes; kCoalesceBytes per pool buffer (a
// request's runs beyond one buffer continue in another), at most
// kCoalesceBuffers buffers in the process (beyond, runs go direct), of which
// kCoalesceIdle stay mapped once none is in use (so a burst of parallel
// requests does not leave 16 MiB behind).
inline constexpr uint64_t kCoalesceMinBytes = 64 * 1024;
inline constexpr uint64_t kCoalescePieceBytes = 32 * 1024;
inline constexpr uint64_t kCoalesceBytes = 2 * 1024 * 1024;
inline constexpr size_t kCoalesceBuffers = 8;
inline constexpr size_t kCoalesceIdle = 2;

// The pool's buffers in use and mapped (in use or idle), and the segments
// coalesced so far, for tests.
struct CoalescePoolStats {
  size_t in_use = 0;
  size_t mapped = 0;
  uint64_t segments = 0;
};
CoalescePoolStats coalesce_pool_stats();

struct IoSegment {
  uint64_t offset = 0;     // file offset of the transfer
  uint64_t length = 0;     // bytes of the transfer
  std::vector<iovec> iov;  // its buffers: guest RAM, or the bounce buffer
  // Bounced and coalesced segments only: the buffer transferred (one of the
  // request's `buffers`, or part of one), and
  uint8_t* bounce = nullptr;
  uint64_t skip = 0;         // where the guest's bytes start in it
  std::vector<iovec> guest;  // the guest's buffers for those bytes
  bool rmw = false;          // a write that must read the range first
  // Engine progress.
  uint64_t done = 0;
};

// Builds req.segments for a kRead or kWrite request: checks that the runs
// and buffers have the same length, fills the guest buffers of zero runs
// (reads) and copies the guest's data into write bounce buffers (non-rmw).
Status plan_request(IoRequest& req, const DirectAlign& align);
// After a read: copies bounced data out to the guest buffers.
void finish_request(IoRequest& req);

// Copies between a flat buffer and an iovec list.
void copy_to_iov(const std::vector<iovec>& iov, const uint8_t* src);
void copy_from_iov(const std::vector<iovec>& iov, uint8_t* dst);

// Runs one segment with preadv/pwritev on this thread: short transfers and
// EINTR continue, a read past the end of the file reads zeros, an rmw
// segment reads, merges and writes under `rmw_mu`. Returns 0 or an errno.
int run_segment_sync(int fd, bool write, IoSegment& seg, std::mutex& rmw_mu);
// Merges the guest's bytes into an rmw segment's bounce buffer after the read.
void merge_rmw(IoSegment& seg);
// The iovecs still to transfer after `done` bytes (for a resubmission).
void advance_iov(const std::vector<iovec>& iov, uint64_t done, std::vector<iovec>& out);
// Whether file offset `pos` is at or past the end of the image `fd`: a
// regular file's size or a block device's capacity (fstat's st_size is 0 for
// a device).
bool at_end_of_image(int fd, uint64_t pos);
// After a short read, seg.done counting what it read: at the end of the
// image `fd` (or when the read made no progress) the rest of the segment
// reads as zero and it is done; before it, the rest is still to read.
void after_short_read(int fd, IoSegment& seg, bool no_progress);

}  // namespace vessel

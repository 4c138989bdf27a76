// The data I/O engines of virtio-blk (aio=threads, aio=io_uring). A request
// is an operation on a BlockImage's host file: read or write the guest
// buffers `iov` at the file runs `runs` (BlockImage::map()), flush (the
// image's metadata, then fdatasync), or `call` (a format operation such as
// discard or write-zeroes run on an I/O thread). The device submits from the
// event loop and never waits: a finished request goes on the engine's
// completed list and the `notify` callback runs (on any thread); the device
// then takes the finished requests with take_completed().
//
// Every engine shares io_plan.h: zero runs of a read are filled with zeros
// at submission; with cache=none (O_DIRECT) runs whose buffers or offsets
// are not aligned for direct I/O go through an aligned bounce buffer (a
// read-modify-write of the partial blocks for writes), so no guest request
// fails for its alignment, and large runs scattered over many small guest
// buffers are coalesced through a contiguous pool buffer (faster on the
// host). With cache=unsafe a flush completes at once.
//
// Threading: submit() and take_completed() may be called from any thread,
// drain() too (it waits for every submitted request, so nothing writes guest
// RAM once it returns: device reset and shutdown). The destructor drains.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "block/block_image.h"
#include "block/io_plan.h"

namespace vessel {

class EventLoop;

enum class AioMode { kThreads, kIoUring };
Expected<AioMode> parse_aio_mode(std::string_view text);
std::string_view aio_mode_name(AioMode mode);

struct IoRequest {
  enum class Op : uint8_t { kRead, kWrite, kFlush, kCall };

  virtual ~IoRequest() = default;
  // Makes the request reusable (keeps the vectors' capacity).
  void clear();

  Op op = Op::kRead;
  std::vector<BlockRun> runs;    // kRead / kWrite: the file runs, in order
  std::vector<iovec> iov;        // kRead / kWrite: guest buffers, as long as the runs
  std::function<Status()> call;  // kCall
  // Result: 0 or an errno value (EIO for a failed call or flush).
  int error = 0;

  // The engines' working state (io_plan.h).
  std::vector<IoSegment> segments;
  std::vector<StageBuffer> buffers;  // the segments' bounce and pool buffers
  uint32_t segments_left = 0;
};

class IoEngine {
 public:
  using Notify = std::function<void()>;

  virtual ~IoEngine() = default;
  IoEngine(const IoEngine&) = delete;
  IoEngine& operator=(const IoEngine&) = delete;

  // Starts `req`; it comes back through take_completed().
  void submit(std::unique_ptr<IoRequest> req);
  // Moves the finished requests to the end of `out`.
  void take_completed(std::vector<std::unique_ptr<IoRequest>>& out);
  // Waits until every submitted request has finished.
  virtual void drain() = 0;
  // Registers the engine's file descriptors (io_uring's eventfd).
  virtual Status attach_event_loop(EventLoop& /*loop*/) { return ok_status(); }

  // Requests submitted and not yet finished.
  uint64_t in_flight() const { return in_flight_.load(std::memory_order_acquire); }
  const DirectAlign& direct_align() const { return align_; }
  BlockImage& image() const { return image_; }

 protected:
  IoEngine(BlockImage& image, Notify notify, DirectAlign align)
      : image_(image), notify_(std::move(notify)), align_(align) {}
  // Engine-specific start of a planned request (segments built, zero runs
  // filled, write bounces copied).
  virtual void start(std::unique_ptr<IoRequest> req) = 0;
  // Finishes `req`: bounced reads copied to the guest, onto the completed
  // list, notify.
  void complete(std::unique_ptr<IoRequest> req);
  // Blocks until in_flight() is 0 (threads that complete from elsewhere).
  void wait_idle();

  BlockImage& image_;
  Notify notify_;
  DirectAlign align_;

 private:
  std::atomic<uint64_t> in_flight_{0};
  std::mutex done_mu_;
  std::condition_variable idle_cv_;
  std::vector<std::unique_ptr<IoRequest>> done_;
};

struct IoEngineOptions {
  AioMode mode = AioMode::kThreads;
  unsigned threads = 4;  // aio=threads workers
  // Alignment for O_DIRECT; by default asked from the file system (statx),
  // else BlockImage::kDirectAlign. Tests force a larger one.
  std::optional<DirectAlign> align;
};

Expected<std::unique_ptr<IoEngine>> create_io_engine(BlockImage& image, IoEngine::Notify notify,
                                                     const IoEngineOptions& options);

}  // namespace vessel

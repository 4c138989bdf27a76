#include "block/io_engine.h"

#include "block/thread_io_engine.h"
#include "block/uring_io_engine.h"

namespace vessel {

Expected<AioMode> parse_aio_mode(std::string_view text) {
  if (text == "threads") return AioMode::kThreads;
  if (text == "io_uring") return AioMode::kIoUring;
  return make_error("unknown aio mode '{}' (threads or io_uring)", text);
}

std::string_view aio_mode_name(AioMode mode) {
  return mode == AioMode::kIoUring ? "io_uring" : "threads";
}

void IoRequest::clear() {
  op = Op::kRead;
  runs.clear();
  iov.clear();
  call = nullptr;
  error = 0;
  segments.clear();
  buffers.clear();
  segments_left = 0;
}

void IoEngine::submit(std::unique_ptr<IoRequest> req) {
  in_flight_.fetch_add(1, std::memory_order_acq_rel);
  req->error = 0;
  bool data = req->op == IoRequest::Op::kRead || req->op == IoRequest::Op::kWrite;
  if (data) {
    if (!plan_request(*req, align_).ok()) {
      req->error = EINVAL;
      complete(std::move(req));
      return;
    }
    req->segments_left = static_cast<uint32_t>(req->segments.size());
    if (req->segments.empty()) {  // only zero runs (or nothing)
      complete(std::move(req));
      return;
    }
  }
  if (req->op == IoRequest::Op::kFlush && image_.cache() == CacheMode::kUnsafe) {
    complete(std::move(req));
    return;
  }
  start(std::move(req));
}

void IoEngine::complete(std::unique_ptr<IoRequest> req) {
  finish_request(*req);
  {
    std::lock_guard lock(done_mu_);
    done_.push_back(std::move(req));
  }
  // The notification goes out before the request stops counting as in
  // flight: once drain() returns, no I/O thread touches the device's host.
  if (notify_) notify_();
  {
    std::lock_guard lock(done_mu_);
    in_flight_.fetch_sub(1, std::memory_order_acq_rel);
  }
  idle_cv_.notify_all();
}

void IoEngine::take_completed(std::vector<std::unique_ptr<IoRequest>>& out) {
  std::lock_guard lock(done_mu_);
  for (auto& r : done_) out.push_back(std::move(r));
  done_.clear();
}

void IoEngine::wait_idle() {
  std::unique_lock lock(done_mu_);
  idle_cv_.wait(lock, [this] { return in_flight_.load(std::memory_order_acquire) == 0; });
}

Expected<std::unique_ptr<IoEngine>> create_io_engine(BlockImage& image, IoEngine::Notify notify,
                                                     const IoEngineOptions& options) {
  DirectAlign align;
  if (image.cache() == CacheMode::kNone) {
    align = options.align ? *options.align : probe_direct_align(image.fd());
  }
  if (options.mode == AioMode::kIoUring) {
    return UringIoEngine::create(image, std::move(notify), align);
  }
  return std::unique_ptr<IoEngine>(
      new ThreadIoEngine(image, std::move(notify), align, options.threads));
}

}  // namespace vessel

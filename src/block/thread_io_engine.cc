#include "block/thread_io_engine.h"

#include <unistd.h>

#include <cerrno>

#include "base/thread_name.h"

namespace vessel {

void run_request_sync(BlockImage& image, IoRequest& req, std::mutex& rmw_mu) {
  switch (req.op) {
    case IoRequest::Op::kRead:
    case IoRequest::Op::kWrite: {
      bool write = req.op == IoRequest::Op::kWrite;
      for (IoSegment& seg : req.segments) {
        int err = run_segment_sync(image.fd(), write, seg, rmw_mu);
        if (err != 0) {
          req.error = err;
          return;
        }
      }
      return;
    }
    case IoRequest::Op::kFlush:
      if (!image.flush().ok()) {
        req.error = EIO;
        return;
      }
      if (::fdatasync(image.fd()) != 0) req.error = errno;
      return;
    case IoRequest::Op::kCall:
      if (!req.call || !req.call().ok()) req.error = EIO;
      return;
  }
}

ThreadIoEngine::ThreadIoEngine(BlockImage& image, Notify notify, DirectAlign align,
                               unsigned threads)
    : IoEngine(image, std::move(notify), align) {
  if (threads == 0) threads = 1;
  for (unsigned i = 0; i < threads; i++) threads_.emplace_back([this] { worker(); });
}

ThreadIoEngine::~ThreadIoEngine() {
  drain();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadIoEngine::start(std::unique_ptr<IoRequest> req) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(req));
  }
  cv_.notify_one();
}

void ThreadIoEngine::worker() {
  set_thread_name("vessel-blk-io");
  for (;;) {
    std::unique_ptr<IoRequest> req;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      req = std::move(queue_.front());
      queue_.pop_front();
    }
    run_request_sync(image_, *req, rmw_mu_);
    complete(std::move(req));
  }
}

}  // namespace vessel

#include "block/uring_io_engine.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/event_loop.h"
#include "base/thread_name.h"
#include "block/thread_io_engine.h"

namespace vessel {

Expected<std::unique_ptr<IoEngine>> UringIoEngine::create(BlockImage& image, Notify notify,
                                                          DirectAlign align) {
  std::unique_ptr<UringIoEngine> engine(new UringIoEngine(image, std::move(notify), align));
  int err = io_uring_queue_init(kEntries, &engine->ring_, 0);
  if (err < 0) {
    return make_error("aio=io_uring: cannot set up an io_uring: {} (use aio=threads)",
                      std::strerror(-err));
  }
  engine->ring_ok_ = true;
  engine->event_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (engine->event_fd_ < 0) {
    return make_error("aio=io_uring: eventfd: {}", std::strerror(errno));
  }
  err = io_uring_register_eventfd(&engine->ring_, engine->event_fd_);
  if (err < 0) {
    return make_error("aio=io_uring: cannot register an eventfd: {}", std::strerror(-err));
  }
  engine->helper_thread_ = std::thread([e = engine.get()] { e->helper(); });
  return std::unique_ptr<IoEngine>(std::move(engine));
}

UringIoEngine::~UringIoEngine() {
  if (ring_ok_) drain();
  {
    std::lock_guard lock(helper_mu_);
    helper_stop_ = true;
  }
  helper_cv_.notify_all();
  if (helper_thread_.joinable()) helper_thread_.join();
  if (loop_ && event_fd_ >= 0) loop_->remove_fd(event_fd_);
  if (ring_ok_) io_uring_queue_exit(&ring_);
  if (event_fd_ >= 0) ::close(event_fd_);
}

Status UringIoEngine::attach_event_loop(EventLoop& loop) {
  VESSEL_TRY(loop.add_fd(event_fd_, EPOLLIN, [this](uint32_t) { poll(); }));
  loop_ = &loop;
  return ok_status();
}

void UringIoEngine::start(std::unique_ptr<IoRequest> req) {
  bool threaded = req->op == IoRequest::Op::kCall;
  for (const IoSegment& seg : req->segments) threaded = threaded || seg.rmw;
  if (threaded) {
    {
      std::lock_guard lock(helper_mu_);
      helper_queue_.push_back(std::move(req));
    }
    helper_cv_.notify_one();
    return;
  }
  if (req->op == IoRequest::Op::kFlush) {
    if (!image_.flush().ok()) {
      req->error = EIO;
      complete(std::move(req));
      return;
    }
    req->segments_left = 1;
  }
  IoRequest* raw = req.release();  // owned by its ops until the last completes
  std::vector<IoRequest*> finished;
  {
    std::lock_guard lock(mu_);
    if (raw->op == IoRequest::Op::kFlush) {
      waiting_.push_back(new Op{raw, nullptr, {}});
    } else {
      for (IoSegment& seg : raw->segments) waiting_.push_back(new Op{raw, &seg, {}});
    }
    issue_locked();
    // Whatever already finished (cached reads) is reaped now.
    reap_locked(false, finished);
  }
  finish_all(finished);
}

void UringIoEngine::issue_locked() {
  bool any = false;
  while (!waiting_.empty() && on_ring_ < kEntries) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) {
      if (io_uring_submit(&ring_) < 0) break;
      sqe = io_uring_get_sqe(&ring_);
      if (!sqe) break;
    }
    Op* op = waiting_.front();
    waiting_.pop_front();
    if (!op->seg) {
      io_uring_prep_fsync(sqe, image_.fd(), IORING_FSYNC_DATASYNC);
    } else {
      IoSegment& seg = *op->seg;
      op->rest.clear();
      advance_iov(seg.iov, seg.done, op->rest);
      unsigned count = static_cast<unsigned>(std::min<size_t>(op->rest.size(), IOV_MAX));
      uint64_t at = seg.offset + seg.done;
      if (op->req->op == IoRequest::Op::kWrite) {
        io_uring_prep_writev(sqe, image_.fd(), op->rest.data(), count, at);
      } else {
        io_uring_prep_readv(sqe, image_.fd(), op->rest.data(), count, at);
      }
    }
    io_uring_sqe_set_data(sqe, op);
    on_ring_++;
    any = true;
  }
  if (any) io_uring_submit(&ring_);
}

void UringIoEngine::reap_locked(bool wait, std::vector<IoRequest*>& finished) {
  for (;;) {
    io_uring_cqe* cqe = nullptr;
    if (wait && on_ring_ > 0) {
      // Submits whatever is prepared too, so a wait never waits for an SQE
      // still in the submission queue.
      int r = io_uring_submit_and_wait(&ring_, 1);
      if (r == -EINTR) continue;
    }
    int err = io_uring_peek_cqe(&ring_, &cqe);
    if (err < 0 || !cqe) break;
    Op* op = static_cast<Op*>(io_uring_cqe_get_data(cqe));
    int res = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    on_ring_--;
    on_cqe_locked(op, res, finished);
    wait = false;  // one wait, then whatever else is there
  }
  issue_locked();
}

void UringIoEngine::on_cqe_locked(Op* op, int res, std::vector<IoRequest*>& finished) {
  IoRequest& req = *op->req;
  if (res == -EAGAIN || res == -EINTR) {
    waiting_.push_back(op);  // again, as it was
    return;
  }
  if (res < 0) {
    req.error = -res;
  } else if (op->seg) {
    IoSegment& seg = *op->seg;
    bool write = req.op == IoRequest::Op::kWrite;
    uint64_t want = 0;
    for (size_t i = 0; i < std::min<size_t>(op->rest.size(), IOV_MAX); i++) {
      want += op->rest[i].iov_len;
    }
    seg.done += static_cast<uint64_t>(res);
    if (write && res == 0) {
      req.error = EIO;
    } else if (!write && static_cast<uint64_t>(res) < want) {
      after_short_read(image_.fd(), seg, res == 0);
    }
    if (req.error == 0 && seg.done < seg.length) {
      waiting_.push_back(op);  // a short transfer: the rest
      return;
    }
  }
  delete op;
  if (--req.segments_left == 0) finished.push_back(&req);
}

void UringIoEngine::finish_all(std::vector<IoRequest*>& finished) {
  for (IoRequest* r : finished) complete(std::unique_ptr<IoRequest>(r));
  finished.clear();
}

void UringIoEngine::poll() {
  uint64_t count;
  [[maybe_unused]] ssize_t n = ::read(event_fd_, &count, sizeof(count));
  std::vector<IoRequest*> finished;
  {
    std::lock_guard lock(mu_);
    reap_locked(false, finished);
  }
  finish_all(finished);
}

void UringIoEngine::drain() {
  std::vector<IoRequest*> finished;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (on_ring_ == 0 && waiting_.empty()) break;
      issue_locked();
      reap_locked(true, finished);
    }
    finish_all(finished);
  }
  wait_idle();  // the helper thread's requests
}

void UringIoEngine::helper() {
  set_thread_name("vessel-blk-aux");
  for (;;) {
    std::unique_ptr<IoRequest> req;
    {
      std::unique_lock lock(helper_mu_);
      helper_cv_.wait(lock, [this] { return helper_stop_ || !helper_queue_.empty(); });
      if (helper_queue_.empty()) return;
      req = std::move(helper_queue_.front());
      helper_queue_.pop_front();
    }
    run_request_sync(image_, *req, rmw_mu_);
    complete(std::move(req));
  }
}

}  // namespace vessel

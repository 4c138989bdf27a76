// aio=io_uring: reads, writes and flushes as IORING_OP_READV / WRITEV /
// FSYNC(DATASYNC) on one ring per disk, submitted from the event loop;
// the ring's registered eventfd wakes the event loop, which reaps the
// completions (poll()). Short transfers are resubmitted for the rest,
// -EAGAIN and -EINTR resubmitted as they were. What the ring cannot do in one
// step - a read-modify-write bounce (cache=none, partial blocks) and format
// calls (discard, write-zeroes) - runs on one helper thread.
#pragma once

#include <liburing.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "block/io_engine.h"

namespace vessel {

class UringIoEngine : public IoEngine {
 public:
  static constexpr unsigned kEntries = 256;

  static Expected<std::unique_ptr<IoEngine>> create(BlockImage& image, Notify notify,
                                                    DirectAlign align);
  ~UringIoEngine() override;

  void drain() override;
  Status attach_event_loop(EventLoop& loop) override;
  // Reaps finished transfers without waiting (the eventfd's handler).
  void poll();

 protected:
  void start(std::unique_ptr<IoRequest> req) override;

 private:
  // One transfer on the ring: a segment of a request, or its fsync.
  struct Op {
    IoRequest* req = nullptr;
    IoSegment* seg = nullptr;  // nullptr: the flush's fsync
    std::vector<iovec> rest;   // the iovecs of the transfer in flight
  };

  UringIoEngine(BlockImage& image, Notify notify, DirectAlign align)
      : IoEngine(image, std::move(notify), align) {}
  void issue_locked();
  void reap_locked(bool wait, std::vector<IoRequest*>& finished);
  void on_cqe_locked(Op* op, int res, std::vector<IoRequest*>& finished);
  void finish_all(std::vector<IoRequest*>& finished);
  void helper();

  io_uring ring_{};
  bool ring_ok_ = false;
  int event_fd_ = -1;
  EventLoop* loop_ = nullptr;

  std::mutex mu_;            // guards the ring and the fields below
  std::deque<Op*> waiting_;  // not on the ring yet
  unsigned on_ring_ = 0;     // submitted, completion not reaped

  std::mutex helper_mu_;  // guards helper_queue_ and helper_stop_
  std::condition_variable helper_cv_;
  std::deque<std::unique_ptr<IoRequest>> helper_queue_;
  bool helper_stop_ = false;
  std::mutex rmw_mu_;
  std::thread helper_thread_;
};

}  // namespace vessel

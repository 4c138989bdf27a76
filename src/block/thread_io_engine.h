// aio=threads: a small pool of worker threads that run each request with
// preadv/pwritev/fdatasync (or the request's call) and complete it.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "block/io_engine.h"

namespace vessel {

class ThreadIoEngine : public IoEngine {
 public:
  ThreadIoEngine(BlockImage& image, Notify notify, DirectAlign align, unsigned threads);
  ~ThreadIoEngine() override;

  void drain() override { wait_idle(); }

 protected:
  void start(std::unique_ptr<IoRequest> req) override;

 private:
  void worker();

  std::mutex mu_;  // guards queue_ and stopping_
  std::condition_variable cv_;
  std::deque<std::unique_ptr<IoRequest>> queue_;
  bool stopping_ = false;
  std::mutex rmw_mu_;  // one read-modify-write at a time
  std::vector<std::thread> threads_;
};

// Runs one request on the calling thread; sets req.error.
void run_request_sync(BlockImage& image, IoRequest& req, std::mutex& rmw_mu);

}  // namespace vessel

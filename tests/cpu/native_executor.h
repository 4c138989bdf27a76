// Runs instruction bytes on the host CPU, in user mode, inside a sandbox: a
// worker process (forked once, reused for every case) maps the code page, the
// data area and the state block at the fixed addresses of user_state.h, wraps
// the bytes in the native stub and runs them. Faults (SIGFPE, SIGSEGV, SIGBUS,
// SIGILL, SIGTRAP) become exception vectors in the result; a case that does
// not finish within the time limit kills the worker (the next run starts a
// new one) and returns an Error.
#pragma once

#include <sys/types.h>

#include <chrono>

#include "executor.h"

namespace vessel::difftest {

class NativeExecutor : public EmulatedExecutor {
 public:
  explicit NativeExecutor(std::chrono::milliseconds limit = std::chrono::milliseconds(2000));
  ~NativeExecutor() override;
  NativeExecutor(const NativeExecutor&) = delete;
  NativeExecutor& operator=(const NativeExecutor&) = delete;

  Expected<ExecResult> run(std::span<const uint8_t> code, const UserState& in) override;

 private:
  struct Shared;
  Status start_worker();
  [[noreturn]] static void worker_main(Shared* shared, int cmd_fd, int done_fd);
  void stop_worker();

  std::chrono::milliseconds limit_;
  Shared* shared_ = nullptr;  // MAP_SHARED with the worker
  pid_t pid_ = -1;
  int cmd_fd_ = -1;   // parent -> worker: "run the case in shared_"
  int done_fd_ = -1;  // worker -> parent: "result is in shared_"
};

}  // namespace vessel::difftest

// One vCPU on its own thread, as a small state machine driven by messages:
//
//   created --resume--> running <--pause/resume--> paused
//      \                   |                         /
//       `------------------+--------stop-----------'--> stopped
//
// The VM never reaches into a running vCPU: it posts a message and kicks the
// vCPU, and the thread acts on the message between two runs of guest code.
#pragma once

#include <time.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "accel/accelerator.h"
#include "boot/boot_image.h"

namespace vessel {

class VcpuThread {
 public:
  enum class State { kCreated, kRunning, kPaused, kStopped };

  // Told about exits the vCPU cannot handle itself. Called on the vCPU
  // thread. Returns true to keep running, false to park the vCPU (it waits
  // for the next message).
  using ExitHandler = std::function<bool(Vcpu& vcpu, const Expected<VcpuExit>& exit)>;

  VcpuThread(int id, Accelerator& accel, IoHandler& io, ExitHandler on_exit);
  ~VcpuThread();  // stops and joins
  VcpuThread(const VcpuThread&) = delete;
  VcpuThread& operator=(const VcpuThread&) = delete;

  // Spawns the thread, which creates the vCPU and, if `boot` is given, puts
  // it at the boot image's entry. Returns once that is done (state kCreated).
  Status start(std::optional<BootImage> boot);

  // Asynchronous requests. pause() and stop() wait until the thread has
  // acted on them.
  void resume();
  void pause();
  void stop();
  // The vCPU's registers, read by its own thread between two runs of guest
  // code. The vCPU must be paused (pause() first); fails otherwise.
  Expected<CpuState> read_state();

  State state() const;
  int id() const { return id_; }

  // Statistics, from any thread once start() has succeeded.
  struct Stats {
    uint64_t cpu_time_ns = 0;  // the thread's CPU time (guest code and exits)
    VcpuCounters counters;
  };
  Stats stats() const;

 private:
  enum class Message { kResume, kPause, kStop, kReadState };
  void post(Message m);
  void wait_for(State s);
  void main(std::optional<BootImage> boot);
  // Applies queued messages; blocks while not running. Returns false once stopped.
  bool handle_messages();

  const int id_;
  Accelerator& accel_;
  IoHandler& io_;
  ExitHandler on_exit_;
  std::unique_ptr<Vcpu> vcpu_;
  clockid_t cpu_clock_{};        // the thread's CPU-time clock
  bool have_cpu_clock_ = false;  // without it, cpu_time_ns reads 0

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Message> messages_;
  State state_ = State::kCreated;
  bool started_ = false;
  std::optional<Error> start_error_;
  std::optional<Expected<CpuState>> read_result_;  // answer to kReadState
  std::thread thread_;
};

const char* to_string(VcpuThread::State state);

}  // namespace vessel

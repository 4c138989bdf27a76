#include "vm/vcpu_thread.h"

#include <pthread.h>

#include "base/log.h"
#include "base/thread_name.h"

namespace vessel {

const char* to_string(VcpuThread::State state) {
  switch (state) {
    case VcpuThread::State::kCreated:
      return "created";
    case VcpuThread::State::kRunning:
      return "running";
    case VcpuThread::State::kPaused:
      return "paused";
    case VcpuThread::State::kStopped:
      return "stopped";
  }
  return "unknown";
}

VcpuThread::VcpuThread(int id, Accelerator& accel, IoHandler& io, ExitHandler on_exit)
    : id_(id), accel_(accel), io_(io), on_exit_(std::move(on_exit)) {}

VcpuThread::~VcpuThread() {
  if (thread_.joinable()) {
    stop();
    thread_.join();
  }
}

Status VcpuThread::start(std::optional<BootImage> boot) {
  thread_ = std::thread([this, boot = std::move(boot)] { main(boot); });
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return started_; });
  if (start_error_) {
    Error e = *start_error_;
    lock.unlock();
    thread_.join();
    return e;
  }
  return ok_status();
}

void VcpuThread::post(Message m) {
  {
    std::lock_guard lock(mu_);
    if (state_ == State::kStopped) return;
    messages_.push_back(m);
  }
  cv_.notify_all();
  // vcpu_ is set before start() returns and never changes after.
  if (vcpu_) vcpu_->kick();
}

void VcpuThread::wait_for(State s) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return state_ == s || state_ == State::kStopped; });
}

void VcpuThread::resume() {
  post(Message::kResume);
}

void VcpuThread::pause() {
  post(Message::kPause);
  wait_for(State::kPaused);
}

void VcpuThread::stop() {
  post(Message::kStop);
  wait_for(State::kStopped);
}

Expected<CpuState> VcpuThread::read_state() {
  std::unique_lock lock(mu_);
  if (state_ != State::kPaused) {
    return make_error("vCPU {} is {}, not paused: its state cannot be read", id_,
                      to_string(state_));
  }
  read_result_.reset();
  messages_.push_back(Message::kReadState);
  cv_.notify_all();
  cv_.wait(lock, [this] { return read_result_.has_value() || state_ == State::kStopped; });
  if (!read_result_) return make_error("vCPU {} stopped before its state was read", id_);
  Expected<CpuState> result = std::move(*read_result_);
  read_result_.reset();
  return result;
}

VcpuThread::Stats VcpuThread::stats() const {
  Stats s;
  if (!vcpu_) return s;
  s.counters = vcpu_->counters();
  // The clock exists while the thread does; a stopped thread reads 0.
  timespec ts{};
  if (have_cpu_clock_ && state() != State::kStopped && clock_gettime(cpu_clock_, &ts) == 0) {
    s.cpu_time_ns = uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
  }
  return s;
}

VcpuThread::State VcpuThread::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

bool VcpuThread::handle_messages() {
  std::unique_lock lock(mu_);
  for (;;) {
    while (!messages_.empty()) {
      Message m = messages_.front();
      messages_.pop_front();
      switch (m) {
        case Message::kResume:
          state_ = State::kRunning;
          break;
        case Message::kPause:
          state_ = State::kPaused;
          break;
        case Message::kStop:
          state_ = State::kStopped;
          break;
        case Message::kReadState:
          read_result_ = vcpu_->state();
          break;
      }
      cv_.notify_all();
      if (state_ == State::kStopped) return false;
    }
    if (state_ == State::kRunning) return true;
    cv_.wait(lock, [this] { return !messages_.empty(); });
  }
}

void VcpuThread::main(std::optional<BootImage> boot) {
  set_thread_name(fmt::format("vessel-vcpu{}", id_));
  auto fail_start = [this](Error e) {
    std::lock_guard lock(mu_);
    start_error_ = std::move(e);
    state_ = State::kStopped;
    started_ = true;
    cv_.notify_all();
  };
  auto vcpu = accel_.create_vcpu(id_, io_);
  if (!vcpu.ok())
    return fail_start(with_context(vcpu.error(), fmt::format("creating vCPU {}", id_)));
  if (boot) {
    auto state = (*vcpu)->state();
    if (!state.ok())
      return fail_start(with_context(state.error(), "reading the boot vCPU's state"));
    apply_entry(*boot, *state);
    auto set = (*vcpu)->set_state(*state);
    if (!set.ok()) return fail_start(with_context(set.error(), "setting the boot vCPU's state"));
  }
  {
    std::lock_guard lock(mu_);
    vcpu_ = std::move(*vcpu);
    have_cpu_clock_ = pthread_getcpuclockid(pthread_self(), &cpu_clock_) == 0;
    started_ = true;
  }
  cv_.notify_all();

  while (handle_messages()) {
    auto exit = vcpu_->run();
    if (exit.ok() && exit->kind == VcpuExit::Kind::kInterrupted) continue;
    if (!on_exit_(*vcpu_, exit)) {
      std::lock_guard lock(mu_);
      if (state_ == State::kRunning) state_ = State::kPaused;
      cv_.notify_all();
    }
  }
  log_debug("vCPU {} stopped", id_);
}

}  // namespace vessel

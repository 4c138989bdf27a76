// The vCPU thread's state machine, driven with a fake accelerator whose
// vCPU "runs" until kicked.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "vm/vcpu_thread.h"

namespace vessel {
namespace {

using namespace std::chrono_literals;

class FakeVcpu : public Vcpu {
 public:
  explicit FakeVcpu(int id, std::atomic<int>* runs, std::atomic<bool>* exit_shutdown)
      : id_(id), runs_(runs), exit_shutdown_(exit_shutdown) {}
  int id() const override { return id_; }
  Expected<VcpuExit> run() override {
    runs_->fetch_add(1);
    if (exit_shutdown_->exchange(false)) return VcpuExit{VcpuExit::Kind::kShutdown, "fake"};
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 5s, [this] { return kicked_; });
    kicked_ = false;
    return VcpuExit{VcpuExit::Kind::kInterrupted, ""};
  }
  void kick() override {
    {
      std::lock_guard lock(mu_);
      kicked_ = true;
    }
    cv_.notify_all();
  }
  Expected<CpuState> state() override { return state_; }
  Status set_state(const CpuState& s) override {
    state_ = s;
    return ok_status();
  }
  VcpuCounters counters() const override { return VcpuCounters{0, uint64_t(runs_->load()), 0}; }
  CpuState state_;

 private:
  int id_;
  std::atomic<int>* runs_;
  std::atomic<bool>* exit_shutdown_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool kicked_ = false;
};

class NullIrq : public IrqChip {
 public:
  void set_level(uint32_t, bool) override {}
  void send_msi(uint64_t, uint32_t) override {}
};

class FakeAccel : public Accelerator {
 public:
  std::string_view name() const override { return "fake"; }
  Status map_memory(GuestMemory&) override { return ok_status(); }
  IrqChip& irq_chip() override { return irq_; }
  Expected<std::unique_ptr<Vcpu>> create_vcpu(int id, IoHandler&) override {
    if (fail_create) return make_error("no vCPU for you");
    auto v = std::make_unique<FakeVcpu>(id, &runs, &exit_shutdown);
    last = v.get();
    return std::unique_ptr<Vcpu>(std::move(v));
  }
  std::atomic<int> runs{0};
  std::atomic<bool> exit_shutdown{false};
  bool fail_create = false;
  FakeVcpu* last = nullptr;

 private:
  NullIrq irq_;
};

class NullIo : public IoHandler {
 public:
  void pio_read(uint16_t, std::span<uint8_t>) override {}
  void pio_write(uint16_t, std::span<const uint8_t>) override {}
  void mmio_read(uint64_t, std::span<uint8_t>) override {}
  void mmio_write(uint64_t, std::span<const uint8_t>) override {}
};

template <typename Pred>
bool eventually(Pred p) {
  for (int i = 0; i < 500; i++) {
    if (p()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return p();
}

TEST(VcpuThread, CreatedThenRunningPausedRunningStopped) {
  FakeAccel accel;
  NullIo io;
  std::atomic<int> exits{0};
  VcpuThread t(0, accel, io, [&](Vcpu&, const Expected<VcpuExit>&) {
    exits++;
    return false;
  });
  ASSERT_TRUE(t.start(std::nullopt).ok());
  EXPECT_EQ(t.state(), VcpuThread::State::kCreated);
  EXPECT_EQ(accel.runs.load(), 0);  // created vCPUs do not run guest code

  t.resume();
  ASSERT_TRUE(eventually([&] { return accel.runs.load() >= 1; }));
  EXPECT_EQ(t.state(), VcpuThread::State::kRunning);

  t.pause();  // returns once paused
  EXPECT_EQ(t.state(), VcpuThread::State::kPaused);
  int runs_when_paused = accel.runs.load();
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(accel.runs.load(), runs_when_paused);  // paused means no guest code runs

  t.resume();
  ASSERT_TRUE(eventually([&] { return accel.runs.load() > runs_when_paused; }));
  t.stop();
  EXPECT_EQ(t.state(), VcpuThread::State::kStopped);
  EXPECT_EQ(exits.load(), 0);  // only kInterrupted exits happened
}

TEST(VcpuThread, TerminalExitParksTheVcpuAndCallsTheHandler) {
  FakeAccel accel;
  NullIo io;
  std::atomic<int> exits{0};
  VcpuExit::Kind seen = VcpuExit::Kind::kInterrupted;
  VcpuThread t(3, accel, io, [&](Vcpu& v, const Expected<VcpuExit>& e) {
    EXPECT_EQ(v.id(), 3);
    seen = e->kind;
    exits++;
    return false;
  });
  accel.exit_shutdown = true;
  ASSERT_TRUE(t.start(std::nullopt).ok());
  t.resume();
  ASSERT_TRUE(eventually([&] { return t.state() == VcpuThread::State::kPaused; }));
  EXPECT_EQ(exits.load(), 1);
  EXPECT_EQ(seen, VcpuExit::Kind::kShutdown);
  int runs = accel.runs.load();
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(accel.runs.load(), runs);
  t.stop();
}

TEST(VcpuThread, CreationFailureIsReported) {
  FakeAccel accel;
  accel.fail_create = true;
  NullIo io;
  VcpuThread t(1, accel, io, [](Vcpu&, const Expected<VcpuExit>&) { return true; });
  auto st = t.start(std::nullopt);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("no vCPU for you"), std::string::npos);
  EXPECT_EQ(t.state(), VcpuThread::State::kStopped);
}

TEST(VcpuThread, StopWhileCreatedAndDestructorWithoutStop) {
  FakeAccel accel;
  NullIo io;
  {
    VcpuThread t(0, accel, io, [](Vcpu&, const Expected<VcpuExit>&) { return true; });
    ASSERT_TRUE(t.start(std::nullopt).ok());
    t.stop();
    EXPECT_EQ(t.state(), VcpuThread::State::kStopped);
  }
  {
    VcpuThread t(0, accel, io, [](Vcpu&, const Expected<VcpuExit>&) { return true; });
    ASSERT_TRUE(t.start(std::nullopt).ok());
    t.resume();
    ASSERT_TRUE(eventually([&] { return accel.runs.load() >= 1; }));
  }  // the destructor stops and joins a running vCPU
  SUCCEED();
}

}  // namespace
}  // namespace vessel

#include "accel/kvm/kvm_probe.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "accel/kvm/kvm_accelerator.h"

namespace vessel {
namespace {

using Clock = std::chrono::steady_clock;

// Real-mode loop at kLoopAddr, counting down ECX and carrying into EBX:
//   l: dec ecx ; jnz l ; inc ebx ; jmp l
constexpr uint64_t kLoopAddr = 0x1000;
constexpr uint8_t kLoop[] = {0x66, 0x49, 0x75, 0xFC, 0x66, 0x43, 0xEB, 0xF8};

// Instructions the loop has retired since ECX = EBX = 0 (two per DEC, plus
// two per wrap of ECX).
uint64_t loop_instructions(uint64_t rbx, uint64_t rcx) {
  uint64_t wraps = rbx & 0xFFFFFFFFu;
  uint64_t decs = wraps * (1ull << 32) + ((0ull - rcx) & 0xFFFFFFFFu);
  return 2 * decs + 2 * wraps;
}

// The loop does no I/O; any access is counted and answered with open bus.
class NoIo final : public IoHandler {
 public:
  void pio_read(uint16_t, std::span<uint8_t> data) override { fill(data); }
  void pio_write(uint16_t, std::span<const uint8_t>) override { ++accesses; }
  void mmio_read(uint64_t, std::span<uint8_t> data) override { fill(data); }
  void mmio_write(uint64_t, std::span<const uint8_t>) override { ++accesses; }
  std::atomic<uint64_t> accesses{0};

 private:
  void fill(std::span<uint8_t> data) {
    ++accesses;
    for (uint8_t& b : data) b = 0xFF;
  }
};

// Everything the vCPU thread touches; shared so that a thread that never
// comes back (a broken KVM) keeps it alive after probe_kvm has returned.
struct Session {
  std::unique_ptr<Accelerator> accel;
  std::unique_ptr<GuestMemory> memory;
  NoIo io;

  std::mutex mu;
  std::condition_variable cv;
  std::unique_ptr<Vcpu> vcpu;  // set by the thread, reset by it at the end
  int phases_started = 0;      // 1: warm-up running, 2: measurement running
  int phases_done = 0;
  bool finished = false;
  std::string failure;
  uint64_t instructions_at[2] = {0, 0};
  double measured_seconds = 0;
};

Status prepare_vcpu(Vcpu& vcpu) {
  VESSEL_ASSIGN(CpuState s, vcpu.state());
  s.cs.base = 0;
  s.cs.selector = 0;
  s.rip = kLoopAddr;
  s.gpr[kRcx] = 0;
  s.gpr[kRbx] = 0;
  s.rflags = kRflagsFixed;  // interrupts off
  return vcpu.set_state(s);
}

void vcpu_thread(std::shared_ptr<Session> session) {
  Session& ses = *session;
  auto fail = [&](std::string why) {
    std::lock_guard lock(ses.mu);
    ses.failure = std::move(why);
    ses.vcpu.reset();
    ses.finished = true;
    ses.cv.notify_all();
  };

  auto created = ses.accel->create_vcpu(0, ses.io);
  if (!created) return fail(created.error().message);
  Vcpu* vcpu = created->get();
  if (Status st = prepare_vcpu(*vcpu); !st) return fail(st.error().message);
  {
    std::lock_guard lock(ses.mu);
    ses.vcpu = std::move(*created);
  }

  for (int phase = 0; phase < 2; ++phase) {
    {
      std::lock_guard lock(ses.mu);
      ses.phases_started = phase + 1;
      ses.cv.notify_all();
    }
    Clock::time_point t0 = Clock::now();
    auto exit = vcpu->run();
    Clock::time_point t1 = Clock::now();
    if (!exit) return fail(exit.error().message);
    if (exit->kind != VcpuExit::Kind::kInterrupted) {
      return fail(
          fmt::format("the probe loop stopped with {} {}", to_string(exit->kind), exit->detail));
    }
    auto state = vcpu->state();
    if (!state) return fail(state.error().message);
    std::lock_guard lock(ses.mu);
    ses.instructions_at[phase] = loop_instructions(state->gpr[kRbx], state->gpr[kRcx]);
    if (phase == 1) ses.measured_seconds = std::chrono::duration<double>(t1 - t0).count();
    ses.phases_done = phase + 1;
    ses.cv.notify_all();
  }
  std::lock_guard lock(ses.mu);
  ses.vcpu.reset();
  ses.finished = true;
  ses.cv.notify_all();
}

KvmProbe unusable(std::string reason) {
  return KvmProbe{false, 0, std::move(reason)};
}

}  // namespace

Expected<KvmProbe> probe_kvm(std::chrono::milliseconds budget) {
  if (budget < std::chrono::milliseconds(10) || budget > std::chrono::minutes(1)) {
    return make_error("KVM probe budget of {} ms is outside 10 ms .. 60 s", budget.count());
  }
  auto session = std::make_shared<Session>();
  {
    auto accel = create_kvm_accelerator();
    if (!accel) return unusable(accel.error().message);
    session->accel = std::move(*accel);
    auto memory = GuestMemory::create(GuestMemory::kMinSize);
    if (!memory) return unusable(memory.error().message);
    session->memory = std::move(*memory);
  }
  if (Status st = session->memory->write(kLoopAddr, kLoop, sizeof(kLoop)); !st) {
    return unusable(st.error().message);
  }
  if (Status st = session->accel->map_memory(*session->memory); !st) {
    return unusable(st.error().message);
  }

  const auto warmup =
      std::max<std::chrono::milliseconds>(budget / 10, std::chrono::milliseconds(5));
  const Clock::time_point deadline = Clock::now() + budget + warmup + std::chrono::seconds(5);
  std::thread thread(vcpu_thread, session);

  std::unique_lock lock(session->mu);
  auto wait_for = [&](auto pred) {
    return session->cv.wait_until(lock, deadline, [&] { return session->finished || pred(); });
  };
  bool on_time = true;
  for (int phase = 0; phase < 2 && on_time; ++phase) {
    on_time = wait_for([&] { return session->phases_started > phase; });
    if (!on_time || session->finished) break;
    lock.unlock();
    std::this_thread::sleep_for(phase == 0 ? warmup : budget);
    lock.lock();
    if (session->vcpu) session->vcpu->kick();
    on_time = wait_for([&] { return session->phases_done > phase; });
  }
  if (on_time) on_time = wait_for([] { return false; });
  if (!on_time) {
    // KVM_RUN did not come back: leave the thread (and the session it
    // shares) behind rather than hang.
    lock.unlock();
    thread.detach();
    return unusable("the probe vCPU did not stop when kicked");
  }
  lock.unlock();
  thread.join();

  if (!session->failure.empty()) return unusable(session->failure);
  if (session->io.accesses.load() != 0) {
    return unusable("the probe loop made unexpected I/O accesses");
  }
  uint64_t retired = session->instructions_at[1] - session->instructions_at[0];
  if (session->measured_seconds <= 0 || session->instructions_at[1] < session->instructions_at[0]) {
    return unusable("the probe measured no time");
  }
  return KvmProbe{true, static_cast<double>(retired) / session->measured_seconds, {}};
}

bool kvm_is_fast(const KvmProbe& probe) {
  return probe.usable && probe.instructions_per_second >= kKvmFastInstructionsPerSecond;
}

std::string describe_kvm_probe(const KvmProbe& probe) {
  if (!probe.usable) return fmt::format("kvm: unavailable ({})", probe.reason);
  return fmt::format("kvm: {} ({:.1f} M instructions/s)", kvm_is_fast(probe) ? "fast" : "slow",
                     probe.instructions_per_second / 1e6);
}

}  // namespace vessel

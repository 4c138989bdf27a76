#include "accel/soft/soft_accelerator.h"

#include "accel/soft/soft_state.h"

namespace vessel {

SoftVcpu::SoftVcpu(int id, const GuestMemory& memory, IoHandler& io)
    : id_(id), bus_(memory, io), cpu_(bus_) {}

void SoftVcpu::set_interrupt_source(cpu::CpuInterruptSource* source) {
  source_ = source;
  cpu_.set_interrupt_source(source);
}

void SoftVcpu::kick() {
  {
    std::lock_guard lock(mu_);
    kicked_.store(true, std::memory_order_relaxed);
  }
  cv_.notify_all();
}

void SoftVcpu::wake() {
  { std::lock_guard lock(mu_); }
  cv_.notify_all();
}

Expected<VcpuExit> SoftVcpu::run() {
  for (;;) {
    if (halted_) {
      if (!cpu_.flag_if()) return VcpuExit{VcpuExit::Kind::kHalt, ""};
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] {
        return kicked_.load(std::memory_order_relaxed) || (source_ && source_->pending());
      });
      if (!kicked_.load(std::memory_order_relaxed)) halted_ = false;
    }
    if (kicked_.exchange(false)) return VcpuExit{VcpuExit::Kind::kInterrupted, ""};
    switch (cpu_.run(kicked_)) {
      case cpu::CpuExit::kStopped:
        continue;  // the kick is seen at the top
      case cpu::CpuExit::kShutdown:
        return VcpuExit{VcpuExit::Kind::kShutdown,
                        fmt::format("triple fault at rip {:#x}", cpu_.rip)};
      case cpu::CpuExit::kHalted:
        halted_ = true;
        continue;
    }
  }
}

Expected<CpuState> SoftVcpu::state() { return soft_get_state(cpu_, halted_); }

Status SoftVcpu::set_state(const CpuState& state) {
  VESSEL_TRY(soft_set_state(cpu_, state));
  halted_ = state.mp_state == MpState::kHalted;
  return ok_status();
}

Status SoftAccelerator::map_memory(GuestMemory& memory) {
  memory_ = &memory;
  return ok_status();
}

Expected<std::unique_ptr<Vcpu>> SoftAccelerator::create_vcpu(int id, IoHandler& io) {
  if (!memory_) return make_error("soft accelerator: guest memory is not mapped");
  return std::unique_ptr<Vcpu>(std::make_unique<SoftVcpu>(id, *memory_, io));
}

std::unique_ptr<Accelerator> create_soft_accelerator() {
  return std::make_unique<SoftAccelerator>();
}

}  // namespace vessel

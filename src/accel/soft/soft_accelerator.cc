#include "accel/soft/soft_accelerator.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "accel/soft/soft_state.h"
#include "base/log.h"
#include "cpu/decode/decoder.h"

namespace vessel {

SoftVcpu::SoftVcpu(int id, const GuestMemory& memory, IoHandler& io)
    : id_(id), bus_(memory, io), cpu_(bus_) {
  const char* profile = std::getenv("VESSEL_SOFT_PROFILE");
  if (profile && std::string_view(profile) == "1") cpu_.enable_profile();
}

SoftVcpu::~SoftVcpu() {
  const cpu::CpuStats& s = cpu_.stats();
  const cpu::BlockCacheStats& b = cpu_.block_cache().stats();
  auto rate = [](uint64_t hit, uint64_t miss) {
    return hit + miss ? 100.0 * static_cast<double>(hit) / static_cast<double>(hit + miss) : 0.0;
  };
  log_info(
      "soft vCPU {}: {} instructions in {} blocks ({:.2f}% entered by chaining), {} "
      "exceptions, {} interrupts; block cache {:.2f}% hits ({} blocks, {} records, {} KiB, {} "
      "invalidated by stores, {} flushes); TLB {:.2f}% hits",
      id_, s.instructions, s.blocks, rate(s.chain_hits, s.blocks - s.chain_hits), s.exceptions,
      s.interrupts, rate(b.hits, b.misses), b.blocks, b.records, b.bytes / 1024, b.invalidations,
      b.flushes, rate(s.tlb_hits, s.tlb_misses));
  const auto& profile = cpu_.profile();
  if (profile.empty()) return;
  std::vector<std::pair<uint64_t, uint16_t>> top;
  for (size_t m = 0; m < profile.size(); ++m)
    if (profile[m]) top.emplace_back(profile[m], static_cast<uint16_t>(m));
  std::sort(top.rbegin(), top.rend());
  if (top.size() > 20) top.resize(20);
  std::string line;
  for (auto& [count, m] : top) line += fmt::format(" {}={}", cpu::mnemonic_name(m), count);
  log_info("soft vCPU {} profile (top mnemonics):{}", id_, line);
}

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

Expected<CpuState> SoftVcpu::state() {
  return soft_get_state(cpu_, halted_);
}

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

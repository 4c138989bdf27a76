#include "accel/soft/soft_accelerator.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <string_view>

#include "accel/soft/soft_state.h"
#include "base/log.h"
#include "cpu/decode/decoder.h"

namespace vessel {

SoftVcpu::SoftVcpu(int id, const GuestMemory& memory, IoHandler& io, Lapic* lapic, uint64_t boot_ns,
                   const cpu::JitOptions& jit)
    : id_(id), lapic_(lapic), bus_(memory, io, lapic, boot_ns), cpu_(bus_, jit) {
  const char* profile = std::getenv("VESSEL_SOFT_PROFILE");
  if (profile && std::string_view(profile) == "1") cpu_.enable_profile();
  if (lapic_) {
    line_ = std::make_unique<ApicLine>(*lapic_);
    cpu_.set_interrupt_source(line_.get());
    lapic_->set_wakeup([this] { wake(); });
  }
}

SoftVcpu::~SoftVcpu() {
  if (lapic_) lapic_->set_wakeup(nullptr);
  const cpu::CpuStats& s = cpu_.stats();
  const cpu::BlockCacheStats& b = cpu_.block_cache().stats();
  auto rate = [](uint64_t hit, uint64_t miss) {
    return hit + miss ? 100.0 * static_cast<double>(hit) / static_cast<double>(hit + miss) : 0.0;
  };
  log_info(
      "soft vCPU {}: {} instructions in {} blocks ({:.2f}% entered by chaining), {} "
      "exceptions, {} interrupts; block cache {:.2f}% hits of {} lookups ({} blocks, {} records, "
      "{} KiB, {} invalidated by stores, {} flushes); TLB {} misses ({:.2f}% of the lookups "
      "outside translated code hit)",
      id_, s.instructions.get(), s.blocks, rate(s.chain_hits, s.blocks - s.chain_hits),
      s.exceptions, s.interrupts.get(), rate(b.hits, b.misses), b.hits + b.misses, b.blocks,
      b.records, b.bytes / 1024, b.invalidations, b.flushes, s.tlb_misses,
      rate(s.tlb_hits, s.tlb_misses));
  if (const cpu::JitStats* j = cpu_.jit_stats())
    log_info(
        "soft vCPU {} translating tier: {} blocks translated ({:.2f}% of their records inline, "
        "{} declined), {} KiB of code, {} buffer flushes, {} direct exits patched, {} unpatched",
        id_, j->blocks, rate(j->inline_records, j->fallback_records), j->declined,
        j->code_bytes / 1024, j->flushes, j->patched, j->unpatched);
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

void SoftVcpu::kick() {
  {
    std::lock_guard lock(mu_);
    kicked_.store(true, std::memory_order_relaxed);
  }
  cv_.notify_all();
}

void SoftVcpu::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

bool SoftVcpu::wait_in_halt() {
  // The LAPIC calls wake() under its own lock, so its state is checked
  // without mu_ held; clearing woken_ first means a wake-up between the check
  // and the wait is not lost (lapic.h, set_wakeup).
  for (;;) {
    {
      std::lock_guard lock(mu_);
      woken_ = false;
    }
    if (kicked_.load(std::memory_order_relaxed)) return true;
    if (line_ && line_->pending()) return false;
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return woken_ || kicked_.load(std::memory_order_relaxed); });
  }
}

Expected<VcpuExit> SoftVcpu::run() {
  for (;;) {
    if (halted_) {
      if (!cpu_.flag_if()) return VcpuExit{VcpuExit::Kind::kHalt, ""};
      if (!wait_in_halt()) halted_ = false;
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

VcpuCounters SoftVcpu::counters() const {
  const cpu::CpuStats& s = cpu_.stats();
  return VcpuCounters{s.instructions.get(), 0, s.interrupts.get()};
}

SoftAccelerator::SoftAccelerator(const cpu::JitOptions& jit)
    : boot_ns_(monotonic_now_ns()), jit_(jit) {}

Status SoftAccelerator::map_memory(GuestMemory& memory) {
  memory_ = &memory;
  return ok_status();
}

Status SoftAccelerator::create_irq_chip(IoBus& bus, TimeSource& time, int cpus) {
  if (chip_) return make_error("soft accelerator: the interrupt controllers already exist");
  chip_ = std::make_unique<SoftIrqChip>(time, cpus);
  return chip_->attach(bus);
}

IrqChip& SoftAccelerator::irq_chip() {
  assert(chip_ && "create_irq_chip() comes first");
  return *chip_;
}

Expected<std::unique_ptr<Vcpu>> SoftAccelerator::create_vcpu(int id, IoHandler& io) {
  if (!memory_) return make_error("soft accelerator: guest memory is not mapped");
  Lapic* lapic = nullptr;
  if (chip_) {
    if (id < 0 || id >= chip_->cpu_count())
      return make_error("soft accelerator: vCPU {} has no local APIC ({} made)", id,
                        chip_->cpu_count());
    lapic = &chip_->lapic(id);
    chip_->bind_current_thread(id);  // this thread's xAPIC MMIO reaches its own LAPIC
  }
  return std::unique_ptr<Vcpu>(std::make_unique<SoftVcpu>(id, *memory_, io, lapic, boot_ns_, jit_));
}

std::unique_ptr<Accelerator> create_soft_accelerator(const cpu::JitOptions& jit) {
  return std::make_unique<SoftAccelerator>(jit);
}

}  // namespace vessel

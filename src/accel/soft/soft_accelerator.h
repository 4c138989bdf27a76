// The soft accelerator: Vessel's own x86-64 CPU (src/cpu) behind the same
// Accelerator/Vcpu interfaces as KVM, with the userspace interrupt
// controllers and timers of src/irq (SoftIrqChip).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "accel/accelerator.h"
#include "accel/soft/soft_cpu_bus.h"
#include "cpu/cpu.h"
#include "irq/soft_irq_chip.h"

namespace vessel {

// One software vCPU. run() executes until HLT with interrupts disabled, a
// triple fault or kick(); HLT with interrupts enabled blocks (no host CPU
// spent) until its local APIC has an interrupt for it or kick().
class SoftVcpu : public Vcpu {
 public:
  // With VESSEL_SOFT_PROFILE=1 in the environment, the vCPU counts executed
  // instructions per mnemonic; the counters and cache/TLB statistics are
  // logged (at info level: vessel -v) when the vCPU is destroyed.
  // `lapic`: this vCPU's local APIC (its INTR line, APIC MSRs); null for a
  // CPU without interrupt controllers (unit tests).
  SoftVcpu(int id, const GuestMemory& memory, IoHandler& io, Lapic* lapic, uint64_t boot_ns,
           const cpu::JitOptions& jit);
  ~SoftVcpu() override;
  int id() const override { return id_; }
  Expected<VcpuExit> run() override;
  void kick() override;
  Expected<CpuState> state() override;
  Status set_state(const CpuState& state) override;
  VcpuCounters counters() const override;

  const cpu::Cpu& cpu() const { return cpu_; }

 private:
  // The CPU's INTR pin, from the local APIC.
  class ApicLine : public cpu::CpuInterruptSource {
   public:
    explicit ApicLine(Lapic& lapic) : lapic_(lapic) { hint_ = &lapic.event_hint(); }
    bool pending() override {
      return lapic_.has_pending_event() && lapic_.pending_vector(true).has_value();
    }
    std::optional<uint8_t> acknowledge() override { return lapic_.acknowledge(); }

   private:
    Lapic& lapic_;
  };

  void wake();
  // Blocks in HLT until an interrupt is due or kick(); true when kicked.
  bool wait_in_halt();

  int id_;
  Lapic* lapic_;
  SoftCpuBus bus_;
  cpu::Cpu cpu_;
  std::unique_ptr<ApicLine> line_;
  std::atomic<bool> kicked_{false};
  bool halted_ = false;  // in HLT with interrupts enabled, waiting
  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;  // guarded by mu_
};

class SoftAccelerator : public Accelerator {
 public:
  explicit SoftAccelerator(const cpu::JitOptions& jit = cpu::JitOptions::from_env());
  std::string_view name() const override { return "soft"; }
  Status map_memory(GuestMemory& memory) override;
  Status create_irq_chip(IoBus& bus, TimeSource& time, int cpus) override;
  IrqChip& irq_chip() override;
  Expected<std::unique_ptr<Vcpu>> create_vcpu(int id, IoHandler& io) override;

 private:
  GuestMemory* memory_ = nullptr;
  std::unique_ptr<SoftIrqChip> chip_;
  uint64_t boot_ns_;
  cpu::JitOptions jit_;
};

// `jit`: the software CPU's translating tier (cpu/jit/jit.h).
std::unique_ptr<Accelerator> create_soft_accelerator(
    const cpu::JitOptions& jit = cpu::JitOptions::from_env());

}  // namespace vessel

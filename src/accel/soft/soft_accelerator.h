// The soft accelerator: Vessel's own x86-64 CPU (src/cpu) behind the same
// Accelerator/Vcpu interfaces as KVM.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "accel/accelerator.h"
#include "accel/soft/soft_cpu_bus.h"
#include "accel/soft/dropping_irq_chip.h"
#include "cpu/cpu.h"

namespace vessel {

// One software vCPU. run() executes until HLT with interrupts disabled, a
// triple fault or kick(); HLT with interrupts enabled waits (on a condition
// variable) for kick() or wake() from an interrupt source.
class SoftVcpu : public Vcpu {
 public:
  // With VESSEL_SOFT_PROFILE=1 in the environment, the vCPU counts executed
  // instructions per mnemonic; the counters and cache/TLB statistics are
  // logged (at info level: vessel -v) when the vCPU is destroyed.
  SoftVcpu(int id, const GuestMemory& memory, IoHandler& io);
  ~SoftVcpu() override;
  int id() const override { return id_; }
  Expected<VcpuExit> run() override;
  void kick() override;
  Expected<CpuState> state() override;
  Status set_state(const CpuState& state) override;

  // Connects the INTR line (the LAPIC/PIC models of the next issue). The
  // source calls wake() whenever pending() becomes true.
  void set_interrupt_source(cpu::CpuInterruptSource* source);
  void wake();

  const cpu::Cpu& cpu() const { return cpu_; }

 private:
  int id_;
  SoftCpuBus bus_;
  cpu::Cpu cpu_;
  cpu::CpuInterruptSource* source_ = nullptr;
  std::atomic<bool> kicked_{false};
  bool halted_ = false;  // in HLT with interrupts enabled, waiting
  std::mutex mu_;
  std::condition_variable cv_;
};

class SoftAccelerator : public Accelerator {
 public:
  std::string_view name() const override { return "soft"; }
  Status map_memory(GuestMemory& memory) override;
  IrqChip& irq_chip() override { return irq_chip_; }
  Expected<std::unique_ptr<Vcpu>> create_vcpu(int id, IoHandler& io) override;

 private:
  GuestMemory* memory_ = nullptr;
  DroppingIrqChip irq_chip_;
};

std::unique_ptr<Accelerator> create_soft_accelerator();

}  // namespace vessel

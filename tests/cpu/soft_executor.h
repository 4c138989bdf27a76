// The differential tester's adapter for Vessel's software CPU (cpu::Cpu): a
// small RAM-only machine in 64-bit mode at CPL 3 with 4 KiB identity-free
// paging that maps exactly the code page (user, executable, read-only) and
// the data area (user, read-write) at the addresses of user_state.h; the
// page tables themselves live in physical pages no linear address maps.
// Each run decodes and executes the code bytes instruction by instruction
// (a REP string instruction to completion) and reports the state and the
// exception vector the first fault left.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "cpu/cpu.h"
#include "executor.h"

namespace vessel::difftest {

class SoftCpuExecutor : public EmulatedExecutor {
 public:
  SoftCpuExecutor();
  ~SoftCpuExecutor() override;
  SoftCpuExecutor(const SoftCpuExecutor&) = delete;
  SoftCpuExecutor& operator=(const SoftCpuExecutor&) = delete;

  Expected<ExecResult> run(std::span<const uint8_t> code, const UserState& in) override;

  // The CPU of the last run (for tests that look at more than ExecResult).
  cpu::Cpu& cpu() { return *cpu_; }

 private:
  class Bus;
  void build_machine();

  std::unique_ptr<Bus> bus_;
  std::unique_ptr<cpu::Cpu> cpu_;
};

}  // namespace vessel::difftest

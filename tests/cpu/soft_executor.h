// The differential tester's adapter for Vessel's software CPU (cpu::Cpu): a
// small RAM-only machine in 64-bit mode at CPL 3 with 4 KiB paging that maps
// the code page (user, writable and executable, like the host's) and the data
// area (user, read-write) at the addresses of user_state.h, plus
// supervisor-only system pages (TSS, GDT, IDT, kernel stack); the page tables
// live in pages no linear address maps. Each run decodes and executes the
// code bytes from guest memory one instruction at a time (a REP string
// instruction to completion) and reports the state and the vector of the
// first fault; a soft interrupt (INT3, INT n) is delivered through the IDT
// and reported with the state its frame saved (RIP after the instruction).
//
// Mode::kTranslated runs the code through the block executor instead, with
// the translating tier translating every block (threshold 0): a UD2 after
// the code ends the block, every exception is delivered through the IDT to
// a HLT, and the state is taken from the exception's frame.
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
  enum class Mode { kInterpreted, kTranslated };
  explicit SoftCpuExecutor(Mode mode = Mode::kInterpreted);
  ~SoftCpuExecutor() override;
  SoftCpuExecutor(const SoftCpuExecutor&) = delete;
  SoftCpuExecutor& operator=(const SoftCpuExecutor&) = delete;

  Expected<ExecResult> run(std::span<const uint8_t> code, const UserState& in) override;

  // The CPU of the last run (for tests that look at more than ExecResult).
  cpu::Cpu& cpu() { return *cpu_; }

 private:
  class Bus;
  void build_machine();
  // Mode::kTranslated: runs the machine to the HLT an exception reaches.
  Status run_translated(uint64_t end, ExecResult& out);
  // The user state an exception's frame at `sp` saved (RIP, RFLAGS, RSP).
  Status return_from_frame(uint64_t sp);

  std::unique_ptr<Bus> bus_;
  std::unique_ptr<cpu::Cpu> cpu_;
  Mode mode_;
};

}  // namespace vessel::difftest

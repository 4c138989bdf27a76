// The adapter interface between the differential tester and something that
// executes x86-64 instruction bytes: the host CPU (NativeExecutor) or an
// emulator (the software CPU's adapter). The tester compares the two.
#pragma once

#include <cstdint>
#include <span>

#include "base/error.h"
#include "user_state.h"

namespace vessel::difftest {

// Contract for run(code, in):
// - 64-bit mode, CPL 3, flat segments (the catalogue uses no FS/GS
//   overrides: on the host those bases belong to the worker), no paging surprises:
//   `code` lies at in.rip (always kInstrAddr) and is executable; the data area
//   in.data is mapped read-write at kDataAddr; every other address faults
//   (#PF for canonical addresses, #GP for non-canonical ones, #SS for
//   non-canonical stack accesses).
// - Execute from in.rip until RIP == in.rip + code.size() (all the bytes ran;
//   a REP instruction runs to completion) or an exception is raised, and
//   return the final state (registers, RFLAGS, RIP, XMM, data area) and the
//   vector (kNoException when none).
// - Return an Error only when the executor itself failed (could not run the
//   case at all); an instruction the emulator does not implement is #UD.
class EmulatedExecutor {
 public:
  virtual ~EmulatedExecutor() = default;
  virtual Expected<ExecResult> run(std::span<const uint8_t> code, const UserState& in) = 0;
};

}  // namespace vessel::difftest

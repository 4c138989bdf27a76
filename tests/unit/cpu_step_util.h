// Runs a few instruction bytes on a software CPU in 64-bit mode (CPL 0,
// identity paging, cpu_test_util.h) one record at a time, without an IDT: the
// result is the exception vector the first fault left (-1: none), with RIP on
// the faulting instruction, so a test can check faults and results directly.
#pragma once

#include <initializer_list>

#include "cpu/decode/decoder.h"
#include "cpu_test_util.h"

namespace vessel::cpu::testing {

class StepCpu {
 public:
  static constexpr uint64_t kCode = 0x2000;
  static constexpr uint64_t kData = 0x5000;

  StepCpu() { enter_long64(cpu, bus); }

  // Executes the bytes at kCode until RIP passes them or a fault.
  int run(std::initializer_list<uint8_t> bytes) {
    bus.put(kCode, bytes);
    cpu.rip = kCode;
    uint64_t end = kCode + bytes.size();
    while (cpu.rip < end) {
      Insn insn;
      if (!decode_insn(bus.mem.data() + cpu.rip, static_cast<unsigned>(end - cpu.rip),
                       DecodeMode::k64, &insn))
        return -2;
      cpu.next_rip = cpu.rip + insn.len;
      if (cpu.execute_one(insn) == Flow::kFault) {
        int v = cpu.pending_vector();
        cpu.set_pending(-1, kNoErrorCode);
        return v;
      }
      cpu.rip = cpu.next_rip;
    }
    return -1;
  }

  TestBus bus;
  Cpu cpu{bus};
};

}  // namespace vessel::cpu::testing

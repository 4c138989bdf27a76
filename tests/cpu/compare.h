// Compares a native result with an emulated one, ignoring the flags the SDM
// leaves undefined (and a destination it leaves undefined), and renders cases
// and differences as readable text.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "user_state.h"

namespace vessel::difftest {

struct Masks {
  uint64_t undefined_flags = 0;
  int undefined_gpr = -1;  // a register whose value is not compared (-1: none)
};

// Empty when the results agree; otherwise "rax native=0x.. emulated=0x..; ..."
// naming every field that differs.
std::string compare_results(const ExecResult& native, const ExecResult& emulated,
                            const Masks& masks);

std::string hex_bytes(std::span<const uint8_t> bytes);
std::string disassemble(std::span<const uint8_t> bytes);  // Intel syntax, or "(undecodable)"
std::string describe_registers(const UserState& s);       // GPRs and RFLAGS on one line
std::string vector_name(int vector);

}  // namespace vessel::difftest

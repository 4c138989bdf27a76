// What a kernel loader leaves behind: the image in guest memory, and where and
// in which mode the boot vCPU starts.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "accel/cpu_state.h"

namespace vessel {

enum class CpuMode {
  kReal16,       // real mode: CS = entry >> 4 (segment), IP = entry & 0xF
  kProtected32,  // flat 32-bit protected mode, paging off
  kLong64,       // 64-bit mode, identity-mapped first 4 GiB, flat segments
};

struct BootImage {
  std::string format;  // "bzImage", "multiboot", "pvh", "flat"
  CpuMode mode = CpuMode::kProtected32;
  uint64_t entry = 0;              // first instruction (guest-physical = linear)
  std::array<uint64_t, 16> gpr{};  // initial general registers (indexed by Gpr)
};

// Sets up `state` (taken from a freshly created vCPU) to start `image`: the
// mode's segments, control registers, EFER, the boot GDT's location, RIP, RFLAGS
// and the general registers.
void apply_entry(const BootImage& image, CpuState& state);

}  // namespace vessel

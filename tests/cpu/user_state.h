// The user-mode machine state a differential test case starts from and ends
// in: 16 GPRs, RFLAGS, RIP, XMM0-15, MM0-7 (the significands of the x87
// registers R0-R7), MXCSR and the data area (two pages the
// instruction may address through a pointer register). Both the native
// executor and an emulated one run the instruction at kInstrAddr with the data
// area mapped read-write at kDataAddr and nothing else mapped for data.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "accel/cpu_state.h"

namespace vessel::difftest {

// Fixed addresses, so that pointers in registers mean the same thing on both
// sides. All below 2 GiB (the native stub addresses its block with disp32).
inline constexpr uint64_t kDataAddr = 0x10000000;  // data area, read-write
inline constexpr size_t kDataSize = 2 * 4096;
inline constexpr uint64_t kCodeAddr = 0x20000000;          // native code page
inline constexpr uint64_t kInstrAddr = kCodeAddr + 0x200;  // first instruction byte
inline constexpr size_t kMaxCodeBytes = 64;

// GPR numbers (vessel::Gpr, kRax..kR15) are those of accel/cpu_state.h.
const char* gpr_name(int gpr);

// RFLAGS bits the tests set and compare.
inline constexpr uint64_t kFlagCF = 1u << 0;
inline constexpr uint64_t kFlagPF = 1u << 2;
inline constexpr uint64_t kFlagAF = 1u << 4;
inline constexpr uint64_t kFlagZF = 1u << 6;
inline constexpr uint64_t kFlagSF = 1u << 7;
inline constexpr uint64_t kFlagDF = 1u << 10;
inline constexpr uint64_t kFlagOF = 1u << 11;
inline constexpr uint64_t kArithFlags = kFlagCF | kFlagPF | kFlagAF | kFlagZF | kFlagSF | kFlagOF;
inline constexpr uint64_t kUserFlags = kArithFlags | kFlagDF;

struct Xmm {
  uint64_t lo = 0;
  uint64_t hi = 0;
  bool operator==(const Xmm&) const = default;
};

struct UserState {
  std::array<uint64_t, 16> gpr{};
  uint64_t rflags = 0x2;  // only kUserFlags (plus the fixed bit 1) are meaningful
  uint64_t rip = kInstrAddr;
  std::array<Xmm, 16> xmm{};
  std::array<uint64_t, 8> mm{};           // x87 physical registers R0-R7, significand (MMn)
  uint32_t mxcsr = 0x1F80;                // all 16 bits compared (flags, masks, RC, DAZ, FTZ)
  std::array<uint8_t, kDataSize> data{};  // contents of [kDataAddr, kDataAddr + kDataSize)
};

// Exception vectors an instruction can end with (kNoException: it completed).
inline constexpr int kNoException = -1;
inline constexpr int kVectorDE = 0;
inline constexpr int kVectorDB = 1;
inline constexpr int kVectorBP = 3;
inline constexpr int kVectorUD = 6;
inline constexpr int kVectorSS = 12;
inline constexpr int kVectorGP = 13;
inline constexpr int kVectorPF = 14;
inline constexpr int kVectorMF = 16;
inline constexpr int kVectorAC = 17;
inline constexpr int kVectorXM = 19;

// What running the code did. On an exception, `state` is the state the
// exception left (RIP of the faulting instruction for faults, of the next one
// for traps such as INT3), and memory as written up to that point.
struct ExecResult {
  UserState state;
  int vector = kNoException;
};

}  // namespace vessel::difftest

// The predecoded instruction record: what Zydis found in the guest's bytes,
// reduced to the fields the handlers need, with the handler bound at decode
// time (a separate handler for each operand form: register, memory,
// immediate). Records are grouped into blocks (decode/block_cache.h).
#pragma once

#include <cstdint>

namespace vessel::cpu {

class Cpu;
struct Insn;

// What a handler reports to the executor.
enum class Flow : uint8_t {
  kNext,   // done; continue with the next record of the block
  kEnd,    // done (RIP = next_rip, possibly a branch target); leave the block
  kFault,  // an exception is pending; RIP still names the instruction
  kHalt,   // HLT: done, the vCPU waits for an interrupt
  // Done, and RIP already advanced: a chained handler (exec/chain.h) ran the
  // records after it and stopped at Cpu::cur_insn(), which has not run.
  kChain,
};

using Handler = Flow (*)(Cpu& cpu, const Insn& insn);

// The record after a block's last one: stops a chain of handlers (kChain).
Flow block_end(Cpu& cpu, const Insn& insn);

// Register number for "no register" in base/index.
inline constexpr uint8_t kNoReg = 0xFF;
// Base register number meaning RIP-relative (disp is from the next RIP).
inline constexpr uint8_t kRipBase = 0xFE;
// Byte registers: 0-15 are the low bytes (AL..R15B, with REX: SPL..DIL),
// kHighByte + 0..3 are AH, CH, DH, BH.
inline constexpr uint8_t kHighByte = 16;

namespace insn_flag {
inline constexpr uint8_t kLock = 1 << 0;
inline constexpr uint8_t kRep = 1 << 1;    // REP / REPE
inline constexpr uint8_t kRepne = 1 << 2;  // REPNE
inline constexpr uint8_t kEndsBlock = 1 << 3;
}  // namespace insn_flag

struct Insn {
  Handler fn = nullptr;
  uint64_t imm = 0;      // immediate (sign-extended to the operand size), branch target offset
  int64_t disp = 0;      // memory displacement
  uint8_t len = 0;       // instruction length in bytes
  uint8_t opsize = 0;    // operand size in bytes: 1, 2, 4, 8
  uint8_t addrsize = 0;  // address size in bytes: 2, 4, 8
  uint8_t seg = 0;       // segment of the memory operand (SegReg)
  uint8_t r0 = kNoReg;   // first register operand (usually the destination)
  uint8_t r1 = kNoReg;   // second register operand
  uint8_t base = kNoReg;
  uint8_t index = kNoReg;
  uint8_t scale = 1;
  uint8_t flags = 0;      // insn_flag
  uint8_t op = 0;         // sub-operation (ALU op, condition code, ...) for shared handlers
  uint8_t size2 = 0;      // a second size (source size of MOVZX/MOVSX, ...)
  uint16_t imm2 = 0;      // far pointer selector; ENTER nesting level
  uint16_t mnemonic = 0;  // Zydis mnemonic (for logs and the profile)
};

}  // namespace vessel::cpu

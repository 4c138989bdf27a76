// The portable state of one vCPU: everything needed to save a vCPU under one
// accelerator and restore it under another (snapshot, migration). Plain data;
// both accelerators translate to and from it.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace vessel {

// A segment register with its hidden descriptor cache, in the unpacked form
// of the SDM's descriptor fields.
struct Segment {
  uint64_t base = 0;
  uint32_t limit = 0;  // byte granular (already scaled by G)
  uint16_t selector = 0;
  uint8_t type = 0;  // 4-bit type field
  uint8_t s = 0;     // 1: code/data, 0: system
  uint8_t dpl = 0;
  uint8_t present = 0;
  uint8_t avl = 0;
  uint8_t l = 0;   // 64-bit code
  uint8_t db = 0;  // default operand size / big
  uint8_t g = 0;   // granularity
  uint8_t unusable = 0;
  bool operator==(const Segment&) const = default;
};

struct DescriptorTable {
  uint64_t base = 0;
  uint16_t limit = 0;
  bool operator==(const DescriptorTable&) const = default;
};

enum Gpr : int {
  kRax,
  kRcx,
  kRdx,
  kRbx,
  kRsp,
  kRbp,
  kRsi,
  kRdi,
  kR8,
  kR9,
  kR10,
  kR11,
  kR12,
  kR13,
  kR14,
  kR15,
};

// Control-register bits used by loaders and both accelerators.
inline constexpr uint64_t kCr0Pe = 1ull << 0;
inline constexpr uint64_t kCr0Mp = 1ull << 1;
inline constexpr uint64_t kCr0Et = 1ull << 4;
inline constexpr uint64_t kCr0Ne = 1ull << 5;
inline constexpr uint64_t kCr0Wp = 1ull << 16;
inline constexpr uint64_t kCr0Pg = 1ull << 31;
inline constexpr uint64_t kCr4Pae = 1ull << 5;
inline constexpr uint64_t kEferSce = 1ull << 0;
inline constexpr uint64_t kEferLme = 1ull << 8;
inline constexpr uint64_t kEferLma = 1ull << 10;
inline constexpr uint64_t kEferNxe = 1ull << 11;
inline constexpr uint64_t kRflagsFixed = 1ull << 1;  // bit 1 always reads 1
inline constexpr uint64_t kRflagsIf = 1ull << 9;

struct MsrEntry {
  uint32_t index = 0;
  uint64_t value = 0;
  bool operator==(const MsrEntry&) const = default;
};

// An event that was being delivered or is pending when the state was taken.
struct PendingEvents {
  bool exception_pending = false;
  uint8_t exception_vector = 0;
  bool exception_has_error_code = false;
  uint32_t exception_error_code = 0;
  bool interrupt_pending = false;  // external interrupt being injected
  uint8_t interrupt_vector = 0;
  bool nmi_pending = false;
  bool nmi_masked = false;
  bool interrupt_shadow = false;  // STI / MOV SS shadow
  bool operator==(const PendingEvents&) const = default;
};

enum class MpState : uint8_t { kRunnable, kUninitialized, kInitReceived, kHalted, kSipiReceived };

struct CpuState {
  std::array<uint64_t, 16> gpr{};
  uint64_t rip = 0;
  uint64_t rflags = kRflagsFixed;

  Segment cs, ds, es, fs, gs, ss, tr, ldt;
  DescriptorTable gdt, idt;

  uint64_t cr0 = 0, cr2 = 0, cr3 = 0, cr4 = 0, cr8 = 0;
  uint64_t efer = 0;
  uint64_t apic_base = 0;
  uint64_t xcr0 = 1;             // x87 state always enabled
  std::array<uint64_t, 4> dr{};  // DR0-DR3
  uint64_t dr6 = 0xFFFF0FF0, dr7 = 0x400;

  // MSRs not covered by the fields above (STAR family, SYSENTER, PAT, TSC,
  // KERNEL_GS_BASE, kvmclock, ...), sorted by index.
  std::vector<MsrEntry> msrs;

  // XSAVE-format area (legacy FXSAVE region in the first 512 bytes, then the
  // XSAVE header and extended components), as KVM_GET_XSAVE returns it.
  std::array<uint8_t, 4096> xsave{};

  // Local APIC register page (as KVM_GET_LAPIC returns it).
  std::array<uint8_t, 1024> lapic{};

  PendingEvents events;
  MpState mp_state = MpState::kRunnable;

  bool operator==(const CpuState&) const = default;
};

}  // namespace vessel

// Architectural register definitions of the software CPU: segment registers
// with their hidden descriptor caches, RFLAGS/CR/EFER bits and MSR numbers.
// Plain data; the CPU core (cpu/cpu.h) owns one set per vCPU.
#pragma once

#include <cstdint>

namespace vessel::cpu {

// General registers in encoding order.
enum Reg : uint8_t { kRax, kRcx, kRdx, kRbx, kRsp, kRbp, kRsi, kRdi, kR8, kR9, kR10, kR11 };

enum SegReg : uint8_t { kEs, kCs, kSs, kDs, kFs, kGs, kNoSeg = 0xFF };

// A segment register: the visible selector and the descriptor cache.
struct SegmentCache {
  uint64_t base = 0;
  uint32_t limit = 0xFFFF;  // byte granular (already scaled by G)
  uint16_t selector = 0;
  uint8_t type = 0;  // 4-bit type field
  bool s = true;     // code/data (not system)
  uint8_t dpl = 0;
  bool present = true;
  bool avl = false;
  bool l = false;   // 64-bit code segment
  bool db = false;  // default size / big
  bool g = false;
  bool unusable = false;
  bool operator==(const SegmentCache&) const = default;
};

struct TableRegister {
  uint64_t base = 0;
  uint16_t limit = 0xFFFF;
  bool operator==(const TableRegister&) const = default;
};

namespace rflags {
inline constexpr uint64_t kCf = 1u << 0;
inline constexpr uint64_t kFixed = 1u << 1;
inline constexpr uint64_t kPf = 1u << 2;
inline constexpr uint64_t kAf = 1u << 4;
inline constexpr uint64_t kZf = 1u << 6;
inline constexpr uint64_t kSf = 1u << 7;
inline constexpr uint64_t kTf = 1u << 8;
inline constexpr uint64_t kIf = 1u << 9;
inline constexpr uint64_t kDf = 1u << 10;
inline constexpr uint64_t kOf = 1u << 11;
inline constexpr uint64_t kIopl = 3u << 12;
inline constexpr uint64_t kNt = 1u << 14;
inline constexpr uint64_t kRf = 1u << 16;
inline constexpr uint64_t kVm = 1u << 17;
inline constexpr uint64_t kAc = 1u << 18;
inline constexpr uint64_t kVif = 1u << 19;
inline constexpr uint64_t kVip = 1u << 20;
inline constexpr uint64_t kId = 1u << 21;
// The six arithmetic flags the lazy-flag machinery computes.
inline constexpr uint64_t kArith = kCf | kPf | kAf | kZf | kSf | kOf;
// Bits software can ever see set.
inline constexpr uint64_t kAllWritable =
    kArith | kTf | kIf | kDf | kOf | kIopl | kNt | kRf | kAc | kId | kVif | kVip;
}  // namespace rflags

namespace cr0 {
inline constexpr uint64_t kPe = 1u << 0;
inline constexpr uint64_t kMp = 1u << 1;
inline constexpr uint64_t kEm = 1u << 2;
inline constexpr uint64_t kTs = 1u << 3;
inline constexpr uint64_t kEt = 1u << 4;
inline constexpr uint64_t kNe = 1u << 5;
inline constexpr uint64_t kWp = 1u << 16;
inline constexpr uint64_t kAm = 1u << 18;
inline constexpr uint64_t kNw = 1u << 29;
inline constexpr uint64_t kCd = 1u << 30;
inline constexpr uint64_t kPg = 1u << 31;
}  // namespace cr0

namespace cr4 {
inline constexpr uint64_t kVme = 1u << 0;
inline constexpr uint64_t kPvi = 1u << 1;
inline constexpr uint64_t kTsd = 1u << 2;
inline constexpr uint64_t kDe = 1u << 3;
inline constexpr uint64_t kPse = 1u << 4;
inline constexpr uint64_t kPae = 1u << 5;
inline constexpr uint64_t kMce = 1u << 6;
inline constexpr uint64_t kPge = 1u << 7;
inline constexpr uint64_t kPce = 1u << 8;
inline constexpr uint64_t kOsfxsr = 1u << 9;
inline constexpr uint64_t kOsxmmexcpt = 1u << 10;
inline constexpr uint64_t kOsxsave = 1u << 18;
// What MOV to CR4 accepts: only features this CPU implements.
inline constexpr uint64_t kSupported =
    kTsd | kDe | kPse | kPae | kPge | kOsfxsr | kOsxmmexcpt | kOsxsave;
}  // namespace cr4

namespace efer {
inline constexpr uint64_t kSce = 1u << 0;
inline constexpr uint64_t kLme = 1u << 8;
inline constexpr uint64_t kLma = 1u << 10;
inline constexpr uint64_t kNxe = 1u << 11;
inline constexpr uint64_t kWritable = kSce | kLme | kNxe;
}  // namespace efer

namespace msr {
inline constexpr uint32_t kTsc = 0x10;
inline constexpr uint32_t kApicBase = 0x1B;
inline constexpr uint32_t kSpecCtrl = 0x48;           // IA32_SPEC_CTRL: IBRS (bit 0) only
inline constexpr uint32_t kPredCmd = 0x49;            // IA32_PRED_CMD: write-only, IBPB (bit 0)
inline constexpr uint32_t kBiosSignId = 0x8B;         // microcode revision: reads 0, writes ignored
inline constexpr uint32_t kArchCapabilities = 0x10A;  // read-only; see exec/cpuid.h
inline constexpr uint32_t kMtrrCap = 0xFE;
inline constexpr uint32_t kSysenterCs = 0x174;
inline constexpr uint32_t kSysenterEsp = 0x175;
inline constexpr uint32_t kSysenterEip = 0x176;
inline constexpr uint32_t kMiscEnable = 0x1A0;
inline constexpr uint32_t kPat = 0x277;
inline constexpr uint32_t kMtrrDefType = 0x2FF;
inline constexpr uint32_t kEfer = 0xC0000080;
inline constexpr uint32_t kStar = 0xC0000081;
inline constexpr uint32_t kLstar = 0xC0000082;
inline constexpr uint32_t kCstar = 0xC0000083;
inline constexpr uint32_t kSfmask = 0xC0000084;
inline constexpr uint32_t kFsBase = 0xC0000100;
inline constexpr uint32_t kGsBase = 0xC0000101;
inline constexpr uint32_t kKernelGsBase = 0xC0000102;
inline constexpr uint32_t kTscAux = 0xC0000103;
}  // namespace msr

// Exception vectors.
enum Vector : uint8_t {
  kDe = 0,
  kDb = 1,
  kNmi = 2,
  kBp = 3,
  kOf = 4,
  kBr = 5,
  kUd = 6,
  kNm = 7,
  kDf = 8,
  kTs = 10,
  kNp = 11,
  kStackFault = 12,  // #SS
  kGp = 13,
  kPf = 14,
  kMf = 16,
  kAc = 17,
  kXm = 19,
};

}  // namespace vessel::cpu

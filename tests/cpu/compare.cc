#include "compare.h"

#include <Zydis/Zydis.h>
#include <fmt/format.h>

namespace vessel::difftest {

const char* gpr_name(int gpr) {
  static constexpr const char* kNames[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp",
                                             "rsi", "rdi", "r8",  "r9",  "r10", "r11",
                                             "r12", "r13", "r14", "r15"};
  return gpr >= 0 && gpr < 16 ? kNames[gpr] : "?";
}

std::string vector_name(int vector) {
  switch (vector) {
    case kNoException:
      return "none";
    case kVectorDE:
      return "#DE";
    case kVectorDB:
      return "#DB";
    case kVectorBP:
      return "#BP";
    case kVectorUD:
      return "#UD";
    case kVectorSS:
      return "#SS";
    case kVectorGP:
      return "#GP";
    case kVectorPF:
      return "#PF";
    case kVectorMF:
      return "#MF";
    case kVectorAC:
      return "#AC";
    case kVectorXM:
      return "#XM";
    default:
      return fmt::format("vector {}", vector);
  }
}

namespace {

std::string flag_names(uint64_t f) {
  std::string s;
  static constexpr std::pair<uint64_t, const char*> kNames[] = {
      {kFlagCF, "CF"}, {kFlagPF, "PF"}, {kFlagAF, "AF"}, {kFlagZF, "ZF"},
      {kFlagSF, "SF"}, {kFlagDF, "DF"}, {kFlagOF, "OF"}};
  for (auto [bit, name] : kNames) {
    if (f & bit) {
      if (!s.empty()) s += ' ';
      s += name;
    }
  }
  return s.empty() ? "-" : s;
}

}  // namespace

std::string compare_results(const ExecResult& n, const ExecResult& e, const Masks& masks) {
  std::string out;
  auto add = [&out](std::string s) {
    if (!out.empty()) out += "; ";
    out += s;
  };
  if (n.vector != e.vector) {
    add(fmt::format("exception native={} emulated={}", vector_name(n.vector),
                    vector_name(e.vector)));
  }
  const UserState& a = n.state;
  const UserState& b = e.state;
  if (a.rip != b.rip) add(fmt::format("rip native={:#x} emulated={:#x}", a.rip, b.rip));
  for (int i = 0; i < 16; ++i) {
    if (i == masks.undefined_gpr) continue;
    if (a.gpr[i] != b.gpr[i]) {
      add(fmt::format("{} native={:#x} emulated={:#x}", gpr_name(i), a.gpr[i], b.gpr[i]));
    }
  }
  uint64_t compared = kUserFlags & ~masks.undefined_flags;
  uint64_t flag_diff = (a.rflags ^ b.rflags) & compared;
  if (flag_diff != 0) {
    add(fmt::format("flags {} native=[{}] emulated=[{}]", flag_names(flag_diff),
                    flag_names(a.rflags & compared), flag_names(b.rflags & compared)));
  }
  for (int i = 0; i < 16; ++i) {
    if (!(a.xmm[i] == b.xmm[i])) {
      add(fmt::format("xmm{} native={:016x}{:016x} emulated={:016x}{:016x}", i, a.xmm[i].hi,
                      a.xmm[i].lo, b.xmm[i].hi, b.xmm[i].lo));
    }
  }
  for (int i = 0; i < 8; ++i) {
    if (a.mm[i] != b.mm[i])
      add(fmt::format("mm{} native={:016x} emulated={:016x}", i, a.mm[i], b.mm[i]));
  }
  if (a.mxcsr != b.mxcsr)
    add(fmt::format("mxcsr native={:#06x} emulated={:#06x}", a.mxcsr, b.mxcsr));
  size_t first = kDataSize, count = 0;
  for (size_t i = 0; i < kDataSize; ++i) {
    if (a.data[i] != b.data[i]) {
      if (first == kDataSize) first = i;
      ++count;
    }
  }
  if (count != 0) {
    add(fmt::format("memory: {} bytes differ, first at {:#x} native={:#04x} emulated={:#04x}",
                    count, kDataAddr + first, a.data[first], b.data[first]));
  }
  return out;
}

std::string hex_bytes(std::span<const uint8_t> bytes) {
  std::string s;
  for (uint8_t b : bytes) {
    if (!s.empty()) s += ' ';
    s += fmt::format("{:02x}", b);
  }
  return s;
}

std::string disassemble(std::span<const uint8_t> bytes) {
  ZydisDisassembledInstruction insn;
  if (!ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, kInstrAddr, bytes.data(),
                                          bytes.size(), &insn))) {
    return "(undecodable)";
  }
  return insn.text;
}

std::string describe_registers(const UserState& s) {
  std::string out;
  for (int i = 0; i < 16; ++i) out += fmt::format("{}={:#x} ", gpr_name(i), s.gpr[i]);
  out += fmt::format("flags=[{}] mxcsr={:#06x}", flag_names(s.rflags & kUserFlags), s.mxcsr);
  return out;
}

}  // namespace vessel::difftest

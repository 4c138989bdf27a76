#include "vm/register_dump.h"

#include <fmt/format.h>

namespace vessel {
namespace {

std::string segment_line(const char* name, const Segment& s) {
  return fmt::format(
      "{:<3}={:04x} base={:016x} limit={:08x} type={:x} s={} dpl={} p={} l={} db={} g={}\n", name,
      s.selector, s.base, s.limit, s.type, s.s, s.dpl, s.present, s.l, s.db, s.g);
}

}  // namespace

std::string format_register_dump(const CpuState& s) {
  static constexpr const char* kNames[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp",
                                             "rsi", "rdi", "r8",  "r9",  "r10", "r11",
                                             "r12", "r13", "r14", "r15"};
  std::string out;
  for (int i = 0; i < 16; i++) {
    out += fmt::format("{:<3}={:016x}{}", kNames[i], s.gpr[i], i % 4 == 3 ? "\n" : " ");
  }
  out += fmt::format("rip={:016x} rflags={:016x}\n", s.rip, s.rflags);
  out += segment_line("cs", s.cs);
  out += segment_line("ss", s.ss);
  out += segment_line("ds", s.ds);
  out += segment_line("es", s.es);
  out += segment_line("fs", s.fs);
  out += segment_line("gs", s.gs);
  out += segment_line("tr", s.tr);
  out += segment_line("ldt", s.ldt);
  out += fmt::format("gdt={:016x}/{:04x} idt={:016x}/{:04x}\n", s.gdt.base, s.gdt.limit, s.idt.base,
                     s.idt.limit);
  out += fmt::format("cr0={:016x} cr2={:016x} cr3={:016x} cr4={:016x} efer={:016x}", s.cr0, s.cr2,
                     s.cr3, s.cr4, s.efer);
  return out;
}

}  // namespace vessel

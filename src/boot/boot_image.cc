#include "boot/boot_image.h"

#include "base/pc_layout.h"
#include "boot/boot_gdt.h"

namespace vessel {

namespace {

// Real-mode segment cache as KVM's reset state has it: 64 KiB limit, present,
// code execute/read accessed (type 0xB), data read/write accessed (type 0x3).
Segment real_mode_segment(uint16_t selector, uint8_t type) {
  Segment s;
  s.selector = selector;
  s.base = static_cast<uint64_t>(selector) << 4;
  s.limit = 0xFFFF;
  s.type = type;
  s.s = 1;
  s.present = 1;
  return s;
}

// TR and LDTR caches of a vCPU at reset: a busy TSS and an LDT, both empty.
void set_system_segments(CpuState& state) {
  state.tr = Segment{};
  state.tr.limit = 0xFFFF;
  state.tr.type = 0xB;
  state.tr.present = 1;
  state.ldt = Segment{};
  state.ldt.limit = 0xFFFF;
  state.ldt.type = 0x2;
  state.ldt.present = 1;
}

void set_flat_segments(CpuState& state, uint16_t code_selector) {
  state.cs = boot_gdt::segment(code_selector);
  Segment data = boot_gdt::segment(boot_gdt::kDataSelector);
  state.ds = state.es = state.fs = state.gs = state.ss = data;
  state.gdt = {layout::kBootGdt, boot_gdt::kGdtLimit};
  state.idt = {layout::kBootIdt, boot_gdt::kIdtLimit};
}

}  // namespace

void apply_entry(const BootImage& image, CpuState& state) {
  state.gpr = image.gpr;
  state.rflags = kRflagsFixed;
  state.cr2 = 0;
  state.cr3 = 0;
  state.cr4 = 0;
  state.efer = 0;
  set_system_segments(state);

  switch (image.mode) {
    case CpuMode::kReal16: {
      uint16_t selector = static_cast<uint16_t>((image.entry >> 4) & 0xFFFF);
      state.cs = real_mode_segment(selector, 0xB);
      state.ds = state.es = state.fs = state.gs = state.ss = real_mode_segment(0, 0x3);
      state.rip = image.entry & 0xF;
      state.gdt = {0, 0xFFFF};
      state.idt = {0, 0x3FF};  // the real-mode interrupt vector table
      state.cr0 = kCr0Et;
      break;
    }
    case CpuMode::kProtected32:
      set_flat_segments(state, boot_gdt::kCode32Selector);
      state.rip = image.entry;
      state.cr0 = kCr0Pe | kCr0Et;
      break;
    case CpuMode::kLong64:
      set_flat_segments(state, boot_gdt::kCode64Selector);
      state.rip = image.entry;
      state.cr0 = kCr0Pe | kCr0Et | kCr0Pg;
      state.cr3 = layout::kPml4;
      state.cr4 = kCr4Pae;
      state.efer = kEferLme | kEferLma;
      break;
  }
}

}  // namespace vessel

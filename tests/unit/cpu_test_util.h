// A software CPU on a flat test bus (RAM from 0 to kRamSize, everything else
// MMIO recorded in a log, ports recorded), and helpers to put it into real,
// flat 32-bit protected or 64-bit mode (identity paging) with code at an address.
#pragma once

#include <atomic>
#include <cstring>
#include <map>
#include <vector>

#include "cpu/cpu.h"

namespace vessel::cpu::testing {

class TestBus : public CpuBus {
 public:
  static constexpr uint64_t kRamSize = 8ull << 20;
  TestBus() : mem(kRamSize, 0) {}
  uint8_t* ram(uint64_t gpa) override { return gpa < kRamSize ? mem.data() + gpa : nullptr; }
  uint64_t mmio_read(uint64_t gpa, unsigned size) override {
    mmio_reads.push_back(gpa);
    return mmio_value & size_mask(size);
  }
  void mmio_write(uint64_t gpa, unsigned size, uint64_t value) override {
    mmio_writes[gpa] = value & size_mask(size);
  }
  uint32_t pio_read(uint16_t port, unsigned) override { return port_in[port]; }
  void pio_write(uint16_t port, unsigned, uint32_t value) override { port_out[port] = value; }
  void tsc_offset_changed(uint64_t offset, uint64_t now_ns) override {
    tsc_changes.push_back({offset, now_ns});
  }

  void put(uint64_t gpa, std::initializer_list<uint8_t> bytes) {
    if (bytes.size() == 0) return;  // an empty list's begin() may be null
    std::memcpy(mem.data() + gpa, bytes.begin(), bytes.size());
  }
  template <typename T>
  void put_obj(uint64_t gpa, T v) {
    std::memcpy(mem.data() + gpa, &v, sizeof(T));
  }
  template <typename T>
  T get(uint64_t gpa) const {
    T v;
    std::memcpy(&v, mem.data() + gpa, sizeof(T));
    return v;
  }

  std::vector<uint8_t> mem;
  uint64_t mmio_value = 0;
  std::vector<uint64_t> mmio_reads;
  std::map<uint64_t, uint64_t> mmio_writes;
  std::map<uint16_t, uint32_t> port_in, port_out;
  struct TscChange {
    uint64_t offset, now_ns;
  };
  std::vector<TscChange> tsc_changes;
};

// GDT at kGdt: null, 0x08 code32, 0x10 data32, 0x18 code64, 0x20 code16,
// 0x28 user code32 (DPL 3), 0x30 user data32 (DPL 3).
inline constexpr uint64_t kGdt = 0x500;
inline constexpr uint64_t kIdt = 0x1000;
inline constexpr uint64_t kPml4 = 0x100000;  // 4-level tables: PML4, PDPT, PD at +0x1000, +0x2000

inline void write_gdt(TestBus& bus) {
  uint64_t gdt[] = {0,
                    0x00CF9A000000FFFFull,
                    0x00CF92000000FFFFull,
                    0x00AF9A000000FFFFull,
                    0x000F9A000000FFFFull,
                    0x00CFFA000000FFFFull,
                    0x00CFF2000000FFFFull};
  for (unsigned i = 0; i < std::size(gdt); ++i) bus.put_obj(kGdt + i * 8, gdt[i]);
}

inline void enter_protected32(Cpu& cpu, TestBus& bus) {
  write_gdt(bus);
  cpu.gdtr = {kGdt, 7 * 8 - 1};
  cpu.cr0 = cr0::kPe | cr0::kEt;
  cpu.seg[kCs] = Cpu::unpack_descriptor(0x08, 0x00CF9B000000FFFFull);
  SegmentCache data = Cpu::unpack_descriptor(0x10, 0x00CF93000000FFFFull);
  for (unsigned r : {kDs, kEs, kFs, kGs, kSs}) cpu.seg[r] = data;
  cpu.tr.type = 0xB;
  cpu.tr.s = false;
  cpu.update_mode();
}

// Identity-maps the first GiB with 2 MiB pages and enters 64-bit mode.
inline void enter_long64(Cpu& cpu, TestBus& bus) {
  enter_protected32(cpu, bus);
  bus.put_obj<uint64_t>(kPml4, (kPml4 + 0x1000) | 7);
  bus.put_obj<uint64_t>(kPml4 + 0x1000, (kPml4 + 0x2000) | 7);
  for (uint64_t i = 0; i < 512; ++i)
    bus.put_obj<uint64_t>(kPml4 + 0x2000 + i * 8, (i << 21) | 0x87);
  cpu.cr3 = kPml4;
  cpu.cr4 = cr4::kPae;
  cpu.efer = efer::kLme | efer::kLma | efer::kNxe | efer::kSce;
  cpu.cr0 |= cr0::kPg;
  cpu.seg[kCs] = Cpu::unpack_descriptor(0x08 * 3, 0x00AF9B000000FFFFull);
  cpu.update_mode();
  cpu.flush_tlb();
}

// A system-segment descriptor for a TSS at `base` (type 1/3: 16-bit, 9/11:
// 32-bit; present, DPL 0).
inline uint64_t tss_descriptor(uint64_t base, unsigned type, uint32_t limit = 0x67) {
  return limit | ((base & 0xFFFFFF) << 16) | (uint64_t{type} << 40) | (1ull << 47) |
         ((base >> 24) << 56);
}
// The type field of the GDT descriptor `selector` names (busy bits).
inline unsigned gdt_type(const TestBus& bus, uint16_t selector) {
  return bus.get<uint8_t>(kGdt + selector + 5) & 0xF;
}

// DR7 bits arming breakpoint n (local enable) with its R/W and LEN fields.
inline uint64_t dr7_arm(unsigned n, unsigned rw, unsigned len) {
  return (1ull << (2 * n)) | (uint64_t{rw} << (16 + 4 * n)) | (uint64_t{len} << (18 + 4 * n));
}
// Points DRn at `addr` and loads DR7 (bit 10 forced).
inline void set_breakpoint(Cpu& cpu, unsigned n, uint64_t addr, uint64_t dr7) {
  cpu.dr[n] = addr;
  cpu.dr7 = dr7 | 0x400;
  cpu.update_debug();
}

// Runs until HLT (or a bounded number of stop checks); returns why it stopped.
inline CpuExit run(Cpu& cpu) {
  std::atomic<bool> stop{false};
  return cpu.run(stop);
}

}  // namespace vessel::cpu::testing

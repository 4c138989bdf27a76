// Test fixture for the x87/FXSAVE/XSAVE tests: a software CPU in 64-bit mode
// whose every exception vector halts in its own handler, running code
// snippets and reporting which exception (if any) stopped them.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "cpu/exec/x87_core.h"
#include "cpu_test_util.h"

namespace vessel::cpu::testing {

constexpr uint64_t kData = 0x5000;
constexpr uint64_t kHandlers = 0x3000;

class CpuX87 : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::enter_long64(cpu, bus);
    cpu.idtr = {testing::kIdt, 256 * 16 - 1};
    for (unsigned v = 0; v < 32; ++v) {
      uint64_t handler = kHandlers + v * 16;
      uint64_t lo = (handler & 0xFFFF) | (uint64_t{0x18} << 16) | (uint64_t{0x8E} << 40) |
                    (((handler >> 16) & 0xFFFF) << 48);
      bus.put_obj(testing::kIdt + v * 16, lo);
      bus.put_obj<uint64_t>(testing::kIdt + v * 16 + 8, 0);
      bus.mem[handler] = 0xF4;  // hlt
    }
    cpu.cr0 |= cr0::kNe | cr0::kMp;
    cpu.cr4 |= cr4::kOsfxsr;
  }

  // Runs `code` followed by HLT. Returns -1 when the HLT was reached, else
  // the vector of the exception that stopped it (its handler halts);
  // `fault_rip` is then the faulting instruction's address.
  int run(const std::vector<uint8_t>& code) {
    uint64_t at = next_code_;
    next_code_ += 0x100;
    std::memcpy(bus.mem.data() + at, code.data(), code.size());
    bus.mem[at + code.size()] = 0xF4;
    cpu.rip = at;
    cpu.gpr[kRsp] = 0x9000;
    code_start = at;
    testing::run(cpu);
    if (cpu.rip == at + code.size() + 1) return -1;
    for (unsigned v = 0; v < 32; ++v) {
      if (cpu.rip == kHandlers + v * 16 + 1) {
        fault_rip = bus.get<uint64_t>(0x9000 - 40);  // the frame's RIP
        return static_cast<int>(v);
      }
    }
    return -2;
  }
  // Runs the code of the last run() again from its start (same stop rules).
  int rerun(size_t code_size) {
    cpu.rip = code_start;
    cpu.gpr[kRsp] = 0x9000;
    testing::run(cpu);
    if (cpu.rip == code_start + code_size + 1) return -1;
    for (unsigned v = 0; v < 32; ++v)
      if (cpu.rip == kHandlers + v * 16 + 1) return static_cast<int>(v);
    return -2;
  }
  std::vector<uint8_t> cat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }

  X87State& x() { return cpu.fpu.x87; }
  long double st(unsigned i) { return x87::to_ld(x87::st(x(), i)); }
  unsigned top() { return x87::top(x()); }
  unsigned depth() {
    unsigned n = 0;
    for (unsigned i = 0; i < 8; ++i) n += !x87::empty(x(), i);
    return n;
  }
  template <typename T>
  void put(uint64_t off, T v) {
    bus.put_obj(kData + off, v);
  }
  template <typename T>
  T get(uint64_t off) {
    return bus.get<T>(kData + off);
  }
  void put_ld(uint64_t off, long double v) { std::memcpy(bus.mem.data() + kData + off, &v, 10); }

  TestBus bus;
  Cpu cpu{bus};
  uint64_t next_code_ = 0x10000;
  uint64_t code_start = 0, fault_rip = 0;
};

}  // namespace vessel::cpu::testing

// A 64-bit software CPU with SSE enabled (CR4.OSFXSR/OSXMMEXCPT) for the SSE
// tests: code at kCode followed by HLT, data at kData, and an IDT whose
// every exception handler records its vector at kVectorSlot and halts.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <initializer_list>

#include "cpu_test_util.h"

namespace vessel::cpu {

class SseTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kCode = 0x2000;
  static constexpr uint64_t kStubs = 0x4000;
  static constexpr uint64_t kData = 0x6000;
  static constexpr uint64_t kVectorSlot = 0x5000;  // the exception handlers store the vector here
  static constexpr int kNone = -1;

  void SetUp() override {
    testing::enter_long64(cpu, bus);
    cpu.cr4 |= cr4::kOsfxsr | cr4::kOsxmmexcpt;
    cpu.idtr = {testing::kIdt, 256 * 16 - 1};
    for (unsigned v = 0; v < 32; ++v) {
      uint64_t h = kStubs + v * 16;
      // mov dword [kVectorSlot], v; hlt
      bus.put(h,
              {0xC7, 0x04, 0x25, 0x00, 0x50, 0x00, 0x00, static_cast<uint8_t>(v), 0, 0, 0, 0xF4});
      uint64_t lo = (h & 0xFFFF) | (uint64_t{0x18} << 16) | (uint64_t{0x8E} << 40) |
                    (((h >> 16) & 0xFFFF) << 48);
      bus.put_obj(testing::kIdt + v * 16, lo);
      bus.put_obj<uint64_t>(testing::kIdt + v * 16 + 8, 0);
    }
    cpu.gpr[kRsp] = 0x9000;
    cpu.gpr[kRbx] = kData;
  }

  // Runs `code` (then HLT); returns the exception vector taken, or kNone.
  int run(std::initializer_list<uint8_t> code) { return run_bytes(code.begin(), code.size()); }
  int run_bytes(const uint8_t* code, size_t size) {
    std::memcpy(bus.mem.data() + kCode, code, size);
    bus.mem[kCode + size] = 0xF4;
    cpu.block_cache().flush();  // the test rewrites the code behind the CPU's back
    cpu.rip = kCode;
    bus.put_obj<uint32_t>(kVectorSlot, ~0u);
    EXPECT_EQ(testing::run(cpu), CpuExit::kHalted);
    return vector_taken();
  }

  // The vector an exception handler recorded since the slot was cleared, or kNone.
  int vector_taken() const {
    uint32_t v = bus.get<uint32_t>(kVectorSlot);
    return v == ~0u ? kNone : static_cast<int>(v);
  }
  Xmm& x(unsigned n) { return cpu.fpu.xmm[n]; }
  void set_q(unsigned n, uint64_t lo, uint64_t hi) {
    x(n).q[0] = lo;
    x(n).q[1] = hi;
  }
  void set_ps(unsigned n, float a, float b, float c, float d) {
    x(n).f[0] = a;
    x(n).f[1] = b;
    x(n).f[2] = c;
    x(n).f[3] = d;
  }
  void set_pd(unsigned n, double a, double b) {
    x(n).f64[0] = a;
    x(n).f64[1] = b;
  }
  void fill_data(uint8_t first) {
    for (unsigned k = 0; k < 256; ++k) bus.mem[kData + k] = static_cast<uint8_t>(first + k);
  }
  uint64_t rflags() const { return cpu.get_rflags(); }

  testing::TestBus bus;
  Cpu cpu{bus};
};

inline uint64_t bits(double v) {
  uint64_t b;
  std::memcpy(&b, &v, 8);
  return b;
}
inline uint32_t bits(float v) {
  uint32_t b;
  std::memcpy(&b, &v, 4);
  return b;
}

}  // namespace vessel::cpu

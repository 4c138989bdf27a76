// Software CPU interpreter speed on a hot loop (arithmetic, memory, branches,
// calls) in 32-bit protected mode, and on straight-line code run once (decode
// cost). Reports guest instructions per second as the "insn/s" counter.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstring>
#include <vector>

#include "cpu/cpu.h"

namespace vessel::cpu {
namespace {

class FlatBus : public CpuBus {
 public:
  FlatBus() : mem(16 << 20, 0) {}
  uint8_t* ram(uint64_t gpa) override { return gpa < mem.size() ? mem.data() + gpa : nullptr; }
  uint64_t mmio_read(uint64_t, unsigned) override { return 0; }
  void mmio_write(uint64_t, unsigned, uint64_t) override {}
  uint32_t pio_read(uint16_t, unsigned) override { return 0; }
  void pio_write(uint16_t, unsigned, uint32_t) override {}
  std::vector<uint8_t> mem;
};

void enter_flat32(Cpu& cpu) {
  cpu.cr0 = cr0::kPe | cr0::kEt;
  cpu.seg[kCs] = Cpu::unpack_descriptor(0x08, 0x00CF9B000000FFFFull);
  SegmentCache data = Cpu::unpack_descriptor(0x10, 0x00CF93000000FFFFull);
  for (unsigned r : {kDs, kEs, kFs, kGs, kSs}) cpu.seg[r] = data;
  cpu.update_mode();
  cpu.gpr[kRsp] = 0x80000;
}

void BM_HotLoop(benchmark::State& state) {
  FlatBus bus;
  // loop: add eax, ebx; mov [0x9000], eax; mov ecx, [0x9000]; inc edx; call f;
  //       cmp edx, 1000000; jne loop; hlt.   f: xor ecx, eax; ret
  const uint8_t code[] = {0x01, 0xD8, 0xA3, 0x00, 0x90, 0x00, 0x00, 0x8B, 0x0D, 0x00,
                          0x90, 0x00, 0x00, 0x42, 0xE8, 0x09, 0x00, 0x00, 0x00, 0x81,
                          0xFA, 0x40, 0x42, 0x0F, 0x00, 0x75, 0xE5, 0xF4};
  std::memcpy(bus.mem.data() + 0x1000, code, sizeof(code));
  const uint8_t f[] = {0x31, 0xC1, 0xC3};
  std::memcpy(bus.mem.data() + 0x1000 + sizeof(code), f, sizeof(f));
  uint64_t total = 0;
  for (auto _ : state) {
    Cpu cpu(bus);
    enter_flat32(cpu);
    cpu.rip = 0x1000;
    std::atomic<bool> stop{false};
    cpu.run(stop);
    total += cpu.stats().instructions;
  }
  state.counters["insn/s"] =
      benchmark::Counter(static_cast<double>(total), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_HotLoop)->Unit(benchmark::kMillisecond);

void BM_ColdStraightLine(benchmark::State& state) {
  FlatBus bus;
  // 64 Ki instructions of distinct straight-line code (add eax, imm32 with
  // varying immediates), then hlt: every instruction decoded once.
  constexpr unsigned kCount = 65536;
  uint64_t at = 0x100000;
  for (unsigned i = 0; i < kCount; ++i) {
    bus.mem[at++] = 0x05;
    std::memcpy(bus.mem.data() + at, &i, 4);
    at += 4;
  }
  bus.mem[at] = 0xF4;
  uint64_t total = 0;
  for (auto _ : state) {
    Cpu cpu(bus);
    enter_flat32(cpu);
    cpu.rip = 0x100000;
    std::atomic<bool> stop{false};
    cpu.run(stop);
    total += cpu.stats().instructions;
  }
  state.counters["insn/s"] =
      benchmark::Counter(static_cast<double>(total), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ColdStraightLine)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vessel::cpu

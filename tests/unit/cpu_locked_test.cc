// LOCK'ed instructions on the software CPU (exec/locked.cc): each locked form
// leaves exactly the registers, flags and memory its plain form leaves (the
// host-atomic path for aligned RAM, the locked slow path for misaligned,
// page-crossing and MMIO operands), faults change nothing, a locked store
// into cached code invalidates it, and several CPUs on host threads
// incrementing one counter with LOCK XADD / LOCK CMPXCHG lose no update.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cpu/exec/locked.h"
#include "cpu_step_util.h"

namespace vessel::cpu::testing {
namespace {

constexpr uint64_t kRdiModrm = 7;  // ModRM mod 00, rm 111: [rdi]
constexpr uint8_t modrm(unsigned reg) {
  return static_cast<uint8_t>((reg << 3) | kRdiModrm);
}

struct Form {
  const char* name;
  std::vector<uint8_t> bytes;  // without LOCK; the memory operand is [rdi]
};

// Every lockable instruction (memory destination [rdi]), in several sizes.
std::vector<Form> lockable_forms() {
  const uint8_t ecx = modrm(1);
  return {
      {"add m32, ecx", {0x01, ecx}},
      {"add m8, cl", {0x00, ecx}},
      {"add m16, cx", {0x66, 0x01, ecx}},
      {"add m64, rcx", {0x48, 0x01, ecx}},
      {"adc m32, ecx", {0x11, ecx}},
      {"adc m64, rcx", {0x48, 0x11, ecx}},
      {"sbb m32, ecx", {0x19, ecx}},
      {"sbb m8, cl", {0x18, ecx}},
      {"sub m32, ecx", {0x29, ecx}},
      {"and m32, ecx", {0x21, ecx}},
      {"or m16, cx", {0x66, 0x09, ecx}},
      {"xor m64, rcx", {0x48, 0x31, ecx}},
      {"add m32, imm8", {0x83, modrm(0), 0x7F}},
      {"adc m16, imm8", {0x66, 0x83, modrm(2), 0x80}},
      {"sbb m32, imm32", {0x81, modrm(3), 0x78, 0x56, 0x34, 0x12}},
      {"and m8, imm8", {0x80, modrm(4), 0x5A}},
      {"or m64, imm8", {0x48, 0x83, modrm(1), 0x01}},
      {"sub m32, imm8", {0x83, modrm(5), 0xFF}},
      {"xor m8, imm8", {0x80, modrm(6), 0xFF}},
      {"inc m32", {0xFF, modrm(0)}},
      {"inc m8", {0xFE, modrm(0)}},
      {"dec m64", {0x48, 0xFF, modrm(1)}},
      {"dec m16", {0x66, 0xFF, modrm(1)}},
      {"not m32", {0xF7, modrm(2)}},
      {"neg m32", {0xF7, modrm(3)}},
      {"neg m8", {0xF6, modrm(3)}},
      {"bts m32, ecx", {0x0F, 0xAB, ecx}},
      {"btr m64, rcx", {0x48, 0x0F, 0xB3, ecx}},
      {"btc m16, cx", {0x66, 0x0F, 0xBB, ecx}},
      {"bts m32, imm8", {0x0F, 0xBA, modrm(5), 0x03}},
      {"btr m32, imm8", {0x0F, 0xBA, modrm(6), 0x25}},
      {"btc m64, imm8", {0x48, 0x0F, 0xBA, modrm(7), 0x3F}},
      {"xadd m32, ecx", {0x0F, 0xC1, ecx}},
      {"xadd m8, cl", {0x0F, 0xC0, ecx}},
      {"xadd m64, rcx", {0x48, 0x0F, 0xC1, ecx}},
      {"cmpxchg m32, ecx", {0x0F, 0xB1, ecx}},
      {"cmpxchg m8, cl", {0x0F, 0xB0, ecx}},
      {"cmpxchg m64, rcx", {0x48, 0x0F, 0xB1, ecx}},
      {"cmpxchg8b m64", {0x0F, 0xC7, modrm(1)}},
      {"cmpxchg16b m128", {0x48, 0x0F, 0xC7, modrm(1)}},
      {"xchg m32, ecx", {0x87, ecx}},
      {"xchg m8, cl", {0x86, ecx}},
  };
}

struct Outcome {
  int vector;
  std::array<uint64_t, 16> gpr;
  uint64_t rflags;
  std::vector<uint8_t> data;
  std::map<uint64_t, uint64_t> mmio;
};

// Runs `bytes` on a fresh CPU from the state `seed` makes, with the memory
// operand at `addr`.
Outcome run_form(const std::vector<uint8_t>& bytes, uint64_t addr, unsigned seed) {
  StepCpu s;
  std::mt19937_64 rng(seed);
  for (auto& r : s.cpu.gpr) r = rng();
  // Small bit offsets (and a negative one) keep BTx inside the data pages.
  s.cpu.gpr[kRcx] = (seed % 3 == 0) ? uint64_t(-7) : rng() % 200;
  s.cpu.gpr[kRsp] = 0x80000;
  s.cpu.gpr[kRdi] = addr;
  s.cpu.set_rflags(rng() & 0x8D5);
  for (uint64_t a = StepCpu::kData - 0x100; a < StepCpu::kData + 0x2100; ++a)
    s.bus.mem[a] = static_cast<uint8_t>(rng());
  s.bus.mmio_value = rng();
  if (seed & 1) {
    // Half the cases: the comparands equal memory (CMPXCHG* succeed).
    uint64_t m = addr < TestBus::kRamSize ? s.bus.get<uint64_t>(addr) : s.bus.mmio_value;
    s.cpu.gpr[kRax] = m;
    s.cpu.gpr[kRdx] = addr < TestBus::kRamSize ? s.bus.get<uint64_t>(addr + 8) : m;
    size_t op = bytes[0] == 0xF0 ? 1 : 0;                                       // past LOCK
    if (bytes[op] == 0x0F && bytes[op + 1] == 0xC7) s.cpu.gpr[kRdx] = m >> 32;  // cmpxchg8b
  }
  std::vector<uint8_t> code = bytes;
  Outcome o;
  // StepCpu::run takes an initializer list: run the record directly.
  std::memcpy(s.bus.mem.data() + StepCpu::kCode, code.data(), code.size());
  s.cpu.rip = StepCpu::kCode;
  Insn insn;
  EXPECT_TRUE(decode_insn(code.data(), static_cast<unsigned>(code.size()), DecodeMode::k64, &insn));
  s.cpu.next_rip = s.cpu.rip + insn.len;
  o.vector = s.cpu.execute_one(insn) == Flow::kFault ? s.cpu.pending_vector() : -1;
  o.gpr = s.cpu.gpr;
  o.rflags = s.cpu.get_rflags();
  o.data.assign(s.bus.mem.begin() + StepCpu::kData - 0x100,
                s.bus.mem.begin() + StepCpu::kData + 0x2100);
  o.mmio = s.bus.mmio_writes;
  return o;
}

std::vector<uint8_t> with_lock(const std::vector<uint8_t>& bytes) {
  std::vector<uint8_t> b{0xF0};
  b.insert(b.end(), bytes.begin(), bytes.end());
  return b;
}

void expect_same(const Outcome& plain, const Outcome& locked, const std::string& what) {
  EXPECT_EQ(plain.vector, locked.vector) << what;
  for (int r = 0; r < 16; ++r) EXPECT_EQ(plain.gpr[r], locked.gpr[r]) << what << " gpr " << r;
  EXPECT_EQ(plain.rflags, locked.rflags) << what;
  EXPECT_TRUE(plain.data == locked.data) << what << ": memory differs";
  EXPECT_TRUE(plain.mmio == locked.mmio) << what << ": MMIO writes differ";
}

TEST(CpuLocked, EveryLockedFormMatchesItsPlainForm) {
  // Aligned (host atomics), misaligned, crossing into the next page and
  // MMIO (the slow path under the lock).
  const uint64_t addrs[] = {StepCpu::kData + 0x100, StepCpu::kData + 0x203, StepCpu::kData + 0xFFE,
                            StepCpu::kData + 0xFF8, 0x900000};
  for (const Form& f : lockable_forms()) {
    for (uint64_t addr : addrs) {
      for (unsigned seed = 1; seed <= 6; ++seed) {
        std::string what =
            std::string(f.name) + " at " + std::to_string(addr) + " seed " + std::to_string(seed);
        Outcome plain = run_form(f.bytes, addr, seed);
        Outcome locked = run_form(with_lock(f.bytes), addr, seed);
        expect_same(plain, locked, what);
      }
    }
  }
}

TEST(CpuLocked, LockedFormsDoTheirArithmetic) {
  StepCpu s;
  s.bus.put_obj<uint32_t>(StepCpu::kData, 0xFFFFFFFF);
  s.cpu.gpr[kRdi] = StepCpu::kData;
  s.cpu.gpr[kRcx] = 1;
  // lock add [rdi], ecx: wraps to 0 with CF and ZF.
  ASSERT_EQ(s.run({0xF0, 0x01, 0x0F}), -1);
  EXPECT_EQ(s.bus.get<uint32_t>(StepCpu::kData), 0u);
  EXPECT_TRUE(s.cpu.lflags.cf());
  EXPECT_TRUE(s.cpu.lflags.zf());
  // lock xadd [rdi], ecx: memory 1, ecx the old 0.
  s.cpu.gpr[kRcx] = 1;
  ASSERT_EQ(s.run({0xF0, 0x0F, 0xC1, 0x0F}), -1);
  EXPECT_EQ(s.bus.get<uint32_t>(StepCpu::kData), 1u);
  EXPECT_EQ(s.cpu.gpr[kRcx], 0u);
  // lock cmpxchg [rdi], ecx with eax = 1 (equal): stores ecx = 7, ZF.
  s.cpu.gpr[kRax] = 1;
  s.cpu.gpr[kRcx] = 7;
  ASSERT_EQ(s.run({0xF0, 0x0F, 0xB1, 0x0F}), -1);
  EXPECT_EQ(s.bus.get<uint32_t>(StepCpu::kData), 7u);
  EXPECT_TRUE(s.cpu.lflags.zf());
  // Again (unequal): eax gets 7, memory stays, ZF clear.
  ASSERT_EQ(s.run({0xF0, 0x0F, 0xB1, 0x0F}), -1);
  EXPECT_EQ(s.cpu.gpr[kRax], 7u);
  EXPECT_EQ(s.bus.get<uint32_t>(StepCpu::kData), 7u);
  EXPECT_FALSE(s.cpu.lflags.zf());
  // lock bts dword [rdi], 31: CF = old bit 31 (0).
  ASSERT_EQ(s.run({0xF0, 0x0F, 0xBA, 0x2F, 31}), -1);
  EXPECT_EQ(s.bus.get<uint32_t>(StepCpu::kData), 0x80000007u);
  EXPECT_FALSE(s.cpu.lflags.cf());
  // lock cmpxchg16b [rdi] (16-byte aligned), equal.
  s.bus.put_obj<uint64_t>(StepCpu::kData + 0x10, 0x1111);
  s.bus.put_obj<uint64_t>(StepCpu::kData + 0x18, 0x2222);
  s.cpu.gpr[kRdi] = StepCpu::kData + 0x10;
  s.cpu.gpr[kRax] = 0x1111;
  s.cpu.gpr[kRdx] = 0x2222;
  s.cpu.gpr[kRbx] = 0x3333;
  s.cpu.gpr[kRcx] = 0x4444;
  ASSERT_EQ(s.run({0xF0, 0x48, 0x0F, 0xC7, 0x0F}), -1);
  EXPECT_EQ(s.bus.get<uint64_t>(StepCpu::kData + 0x10), 0x3333u);
  EXPECT_EQ(s.bus.get<uint64_t>(StepCpu::kData + 0x18), 0x4444u);
  EXPECT_TRUE(s.cpu.lflags.zf());
  // Misaligned cmpxchg16b: #GP.
  s.cpu.gpr[kRdi] = StepCpu::kData + 0x18;
  EXPECT_EQ(s.run({0xF0, 0x48, 0x0F, 0xC7, 0x0F}), kGp);
}

TEST(CpuLocked, LockOnAFormThatCannotBeLockedIsUd) {
  StepCpu s;
  EXPECT_EQ(s.run({0xF0, 0x01, 0xC8}), kUd);  // lock add eax, ecx
  s.cpu.gpr[kRdi] = StepCpu::kData;
  EXPECT_EQ(s.run({0xF0, 0x8B, 0x07}), kUd);  // lock mov eax, [rdi]
  EXPECT_EQ(s.run({0xF0, 0x39, 0x0F}), kUd);  // lock cmp [rdi], ecx
}

// Read-only 2 MiB page at 4 MiB (CR0.WP): a locked write there, or one
// crossing into it, is #PF and changes no byte.
TEST(CpuLocked, AFaultLeavesMemoryUnchanged) {
  StepCpu s;
  s.bus.put_obj<uint64_t>(kPml4 + 0x2000 + 2 * 8, (2ull << 21) | 0x85);
  s.cpu.cr0 |= cr0::kWp;
  s.cpu.flush_tlb();
  s.bus.put_obj<uint64_t>(0x3FFFF8, 0x0102030405060708ull);
  s.bus.put_obj<uint64_t>(0x400000, 0x1112131415161718ull);
  s.cpu.gpr[kRcx] = 0x55;
  for (uint64_t addr : {0x400000ull, 0x3FFFFEull}) {
    s.cpu.gpr[kRdi] = addr;
    EXPECT_EQ(s.run({0xF0, 0x01, 0x0F}), kPf) << addr;  // lock add [rdi], ecx
    EXPECT_EQ(s.cpu.cr2, addr < 0x400000 ? 0x400000 : addr);
    EXPECT_EQ(s.run({0x87, 0x0F}), kPf) << addr;  // xchg [rdi], ecx
    EXPECT_EQ(s.bus.get<uint64_t>(0x3FFFF8), 0x0102030405060708ull);
    EXPECT_EQ(s.bus.get<uint64_t>(0x400000), 0x1112131415161718ull);
    EXPECT_EQ(s.cpu.gpr[kRcx], 0x55u);
  }
}

// A locked store into the running block's own code: the rest of the block is
// decoded again and the new bytes run.
TEST(CpuLocked, LockedStoreIntoCachedCodeInvalidatesIt) {
  TestBus bus;
  Cpu cpu(bus);
  enter_long64(cpu, bus);
  // 0x2000: lock inc byte [rip+1]; mov al, 0x10; hlt  (the inc hits the imm8)
  bus.put(0x2000, {0xF0, 0xFE, 0x05, 0x01, 0x00, 0x00, 0x00, 0xB0, 0x10, 0xF4});
  for (int round = 1; round <= 3; ++round) {
    cpu.rip = 0x2000;
    ASSERT_EQ(run(cpu), CpuExit::kHalted);
    EXPECT_EQ(cpu.gpr[kRax] & 0xFF, 0x10u + round) << round;
  }
  EXPECT_GE(cpu.block_cache().stats().invalidations, 3u);
}

// Guest loops: `n` (ECX) increments of the dword at [rdi], then HLT.
// LOCK XADD: mov eax, 1; lock xadd [rdi], eax; dec ecx; jnz; hlt.
const std::vector<uint8_t> kXaddLoop = {0xB8, 0x01, 0x00, 0x00, 0x00, 0xF0, 0x0F,
                                        0xC1, 0x07, 0xFF, 0xC9, 0x75, 0xF3, 0xF4};
// LOCK CMPXCHG: mov eax, [rdi]; retry: lea edx, [rax+1];
// lock cmpxchg [rdi], edx; jnz retry; dec ecx; jnz; hlt.
const std::vector<uint8_t> kCmpxchgLoop = {0x8B, 0x07, 0x8D, 0x50, 0x01, 0xF0, 0x0F, 0xB1,
                                           0x17, 0x75, 0xF7, 0xFF, 0xC9, 0x75, 0xF1, 0xF4};

// CPUs on host threads over one guest RAM, half of them running each loop
// on the counter at `counter`; returns the final count.
uint32_t race(uint64_t counter, unsigned cpus, uint32_t n) {
  TestBus bus;
  bus.put_obj<uint32_t>(counter, 0);
  std::memcpy(bus.mem.data() + 0x2000, kXaddLoop.data(), kXaddLoop.size());
  std::memcpy(bus.mem.data() + 0x3000, kCmpxchgLoop.data(), kCmpxchgLoop.size());
  std::vector<std::unique_ptr<Cpu>> cpu;
  for (unsigned k = 0; k < cpus; ++k) {
    cpu.push_back(std::make_unique<Cpu>(bus));
    enter_long64(*cpu[k], bus);
    cpu[k]->rip = (k & 1) ? 0x3000 : 0x2000;
    cpu[k]->gpr[kRdi] = counter;
    cpu[k]->gpr[kRcx] = n;
  }
  std::vector<std::thread> threads;
  std::vector<CpuExit> exits(cpus, CpuExit::kStopped);
  for (unsigned k = 0; k < cpus; ++k) threads.emplace_back([&, k] { exits[k] = run(*cpu[k]); });
  for (auto& t : threads) t.join();
  for (unsigned k = 0; k < cpus; ++k) {
    EXPECT_EQ(exits[k], CpuExit::kHalted) << k;
    EXPECT_EQ(cpu[k]->gpr[kRcx] & 0xFFFFFFFF, 0u) << k;
  }
  return bus.get<uint32_t>(counter);
}

TEST(CpuLocked, ThreadsIncrementingOneCounterLoseNoUpdate) {
  constexpr uint32_t kN = 100000;
  EXPECT_EQ(race(0x7000, 4, kN), 4 * kN);
}

TEST(CpuLocked, ThreadsIncrementingASplitCounterLoseNoUpdate) {
  // The dword crosses a page boundary: the slow path under the lock.
  constexpr uint32_t kN = 20000;
  EXPECT_EQ(race(0x7FFE, 4, kN), 4 * kN);
}

TEST(CpuLocked, HostCompareAndSwapHelpers) {
  alignas(16) uint8_t mem[16] = {};
  uint64_t old = host_rmw(mem, 4, [](uint64_t x) { return x + 5; });
  EXPECT_EQ(old, 0u);
  EXPECT_EQ(load_le(mem, 4), 5u);
  old = host_rmw(mem, 1, [](uint64_t x) { return x | 0x80; });
  EXPECT_EQ(old, 5u);
  EXPECT_EQ(load_le(mem, 4), 0x85u);
  uint64_t lo = 0x85, hi = 0;
  EXPECT_TRUE(host_cmpxchg16(mem, &lo, &hi, 1, 2));
  EXPECT_EQ(load_le(mem, 8), 1u);
  EXPECT_EQ(load_le(mem + 8, 8), 2u);
  lo = hi = 9;
  EXPECT_FALSE(host_cmpxchg16(mem, &lo, &hi, 3, 4));
  EXPECT_EQ(lo, 1u);
  EXPECT_EQ(hi, 2u);
  EXPECT_EQ(load_le(mem, 8), 1u);
}

}  // namespace
}  // namespace vessel::cpu::testing

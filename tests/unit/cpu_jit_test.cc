// The translating tier (cpu/jit): random instruction sequences run through
// the interpreter and through translated code (threshold 0) must leave the
// same registers, flags, memory, RIP and instruction count; faults inside
// translated code are precise; stores into the running block's code are
// seen at once. Guest code is assembled with Xbyak (x86-64 encodings are the
// guest's too).
#include <gtest/gtest.h>

#include <xbyak/xbyak.h>
#include <random>

#include "cpu/jit/conditions.h"
#include "cpu_test_util.h"

namespace vessel::cpu {
namespace {

constexpr uint64_t kCode = 0x20000;
constexpr uint64_t kData = 0x40000;  // two data pages
constexpr uint64_t kStack = 0x60000;
constexpr uint64_t kFunc = 0x30000;  // f: add rax, rcx; ret

struct Machine {
  testing::TestBus bus;
  Cpu cpu{bus};
  explicit Machine(bool jit) {
    cpu.set_jit(jit ? JitOptions{true, 0} : JitOptions{false, 0});
    testing::enter_long64(cpu, bus);
  }
};

// Random programs over the families the translator emits inline, with the
// operand forms and sizes it handles and some it hands to the interpreter.
class Generator : public Xbyak::CodeGenerator {
 public:
  explicit Generator(uint32_t seed) : CodeGenerator(64 * 1024), rng_(seed) {}

  void program(unsigned length) {
    for (unsigned k = 0; k < length; ++k) one();
    while (pushed_ > 0) {
      pop(reg64());
      --pushed_;
    }
    hlt();
  }

 private:
  unsigned pick(unsigned n) { return std::uniform_int_distribution<unsigned>(0, n - 1)(rng_); }
  uint64_t value() {
    switch (pick(4)) {
      case 0:
        return pick(4);
      case 1:
        return ~uint64_t{0} - pick(4);
      case 2:
        return uint64_t{0x80000000} - 2 + pick(4);
      default:
        return (uint64_t{rng_()} << 32) | rng_();
    }
  }
  // Any general register but RSP (the stack) and RBX (the data pointer).
  Xbyak::Reg64 reg64() {
    static const Xbyak::Reg64 kRegs[] = {
        Xbyak::util::rax, Xbyak::util::rcx, Xbyak::util::rdx, Xbyak::util::rsi, Xbyak::util::rdi,
        Xbyak::util::rbp, Xbyak::util::r8,  Xbyak::util::r9,  Xbyak::util::r10, Xbyak::util::r11,
        Xbyak::util::r12, Xbyak::util::r13, Xbyak::util::r14, Xbyak::util::r15};
    return kRegs[pick(std::size(kRegs))];
  }
  Xbyak::Reg reg(unsigned size) {
    if (size == 1 && pick(4) == 0) {
      static const Xbyak::Reg8 kHigh[] = {Xbyak::util::ah, Xbyak::util::ch, Xbyak::util::dh};
      return kHigh[pick(3)];
    }
    Xbyak::Reg64 r = reg64();
    if (size == 1) {
      // AH..DH cannot sit beside a REX register: no SIL/DIL/BPL/R8B+ then.
      static const Xbyak::Reg8 kLow[] = {Xbyak::util::al, Xbyak::util::cl, Xbyak::util::dl};
      return kLow[pick(3)];
    }
    if (size == 2) return r.cvt16();
    if (size == 4) return r.cvt32();
    return r;
  }
  Xbyak::Reg8 low8() {
    static const Xbyak::Reg8 kLow[] = {Xbyak::util::al, Xbyak::util::cl, Xbyak::util::dl,
                                       Xbyak::util::bl};
    return kLow[pick(std::size(kLow))];
  }
  unsigned size() {
    static const unsigned kSizes[] = {1, 2, 4, 8, 8, 4};
    return kSizes[pick(std::size(kSizes))];
  }
  // A data operand: mostly inside one page, sometimes across the boundary
  // between the two data pages (the slow path).
  Xbyak::Address mem(unsigned size) {
    int disp = pick(8) == 0 ? 4096 - 1 - pick(4) : static_cast<int>(pick(4000));
    Xbyak::RegExp e = Xbyak::util::rbx + disp;
    switch (size) {
      case 1:
        return byte[e];
      case 2:
        return word[e];
      case 4:
        return dword[e];
      default:
        return qword[e];
    }
  }
  // An immediate as Xbyak takes it (16-bit ones sign-extended to 32 bits).
  uint32_t imm(unsigned size) {
    uint64_t v = value();
    if (size == 1) return v & 0xFF;
    if (size == 2) return static_cast<uint32_t>(static_cast<int32_t>(static_cast<int16_t>(v)));
    return static_cast<uint32_t>(v);
  }
  void alu(unsigned op, const Xbyak::Operand& d, const Xbyak::Operand& s) {
    switch (op) {
      case 0:
        add(d, s);
        break;
      case 1:
        or_(d, s);
        break;
      case 2:
        adc(d, s);
        break;
      case 3:
        sbb(d, s);
        break;
      case 4:
        and_(d, s);
        break;
      case 5:
        sub(d, s);
        break;
      case 6:
        xor_(d, s);
        break;
      case 7:
        cmp(d, s);
        break;
      default:
        test(d, s.getReg());
        break;
    }
  }
  void alu_imm(unsigned op, const Xbyak::Operand& d, uint32_t v) {
    switch (op) {
      case 0:
        add(d, v);
        break;
      case 1:
        or_(d, v);
        break;
      case 2:
        adc(d, v);
        break;
      case 3:
        sbb(d, v);
        break;
      case 4:
        and_(d, v);
        break;
      case 5:
        sub(d, v);
        break;
      case 6:
        xor_(d, v);
        break;
      case 7:
        cmp(d, v);
        break;
      default:
        test(d, v);
        break;
    }
  }
  // A 32-bit immediate for a 64-bit operation (sign-extended by the CPU).
  static uint32_t imm32(unsigned size, uint32_t v) { return size == 8 ? v & 0x7FFFFFFF : v; }

  void one() {
    unsigned sz = size();
    switch (pick(23)) {
      case 0: {  // mov r, imm (64-bit: any value)
        if (sz == 8)
          mov(reg64(), value());
        else
          mov(reg(sz), imm(sz) & static_cast<uint32_t>(size_mask(sz)));
        break;
      }
      case 1:
        mov(reg(sz), reg(sz));
        break;
      case 2:
        mov(reg(sz), mem(sz));
        break;
      case 3:
        if (pick(2))
          mov(mem(sz), reg(sz));
        else
          mov(mem(sz), sz == 8 ? imm(4) & 0x7FFFFFFF : imm(sz) & size_mask(sz));
        break;
      case 4:
      case 5:
        alu(pick(9), reg(sz), reg(sz));
        break;
      case 6:
        alu_imm(pick(9), reg(sz), imm32(sz, imm(sz)));
        break;
      case 7: {
        unsigned op = pick(9);
        if (op == 8) op = 7;  // TEST r, m is TEST m, r
        alu(op, reg(sz), mem(sz));
        break;
      }
      case 8:
        if (pick(2))
          alu(pick(9), mem(sz), reg(sz));
        else
          alu_imm(pick(9), mem(sz), imm32(sz, imm(sz)));
        break;
      case 9: {
        auto unary = [&](const Xbyak::Operand& o) {
          switch (pick(4)) {
            case 0:
              inc(o);
              break;
            case 1:
              dec(o);
              break;
            case 2:
              neg(o);
              break;
            default:
              not_(o);
              break;
          }
        };
        if (pick(3) == 0)
          unary(mem(sz));
        else
          unary(reg(sz));
        break;
      }
      case 10: {
        Xbyak::Reg r = reg(sz);
        auto n = static_cast<uint8_t>(pick(2) ? 1 : pick(64));
        switch (pick(5)) {
          case 0:
            shl(r, n);
            break;
          case 1:
            shr(r, n);
            break;
          case 2:
            sar(r, n);
            break;
          case 3:
            rol(r, n);
            break;
          default:
            ror(r, n);
            break;
        }
        break;
      }
      case 11: {
        unsigned s = sz == 1 ? 4 : sz;
        if (pick(2))
          imul(reg(s), reg(s));
        else
          imul(reg(s), reg(s), static_cast<int>(imm(2)) - 0x8000);
        break;
      }
      case 12: {
        unsigned d = pick(2) ? 4 : 8;
        switch (pick(5)) {
          case 0:
            movzx(reg(d), low8());
            break;
          case 1:
            movzx(reg(d), word[Xbyak::util::rbx + static_cast<int>(pick(4000))]);
            break;
          case 2:
            movsx(reg(d), reg(2));
            break;
          case 3:
            movsx(reg(d), byte[Xbyak::util::rbx + static_cast<int>(pick(4000))]);
            break;
          default:
            movsxd(reg64(), reg(4).cvt32());
            break;
        }
        break;
      }
      case 13: {
        Xbyak::Reg64 base = reg64(), index = reg64();
        int disp = static_cast<int>(value() & 0xFFFF) - 0x8000;
        unsigned scale = 1u << pick(4);
        if (pick(2))
          lea(reg64(), ptr[base + index * scale + disp]);
        else
          lea(reg64().cvt32(), ptr[base + disp]);
        break;
      }
      case 14:
        if (pushed_ > 0 && pick(2)) {
          pop(reg64());
          --pushed_;
        } else if (pushed_ < 16) {
          if (pick(2))
            push(reg64());
          else
            push(static_cast<int>(imm(1)) - 0x80);
          ++pushed_;
        }
        break;
      case 15: {
        unsigned s = sz == 1 ? 8 : sz;
        jit_cc::cmovcc(*this, pick(16), reg(s), reg(s));
        break;
      }
      case 16:
        jit_cc::setcc(*this, pick(16), reg(1));
        break;
      case 17: {   // a forward conditional branch over one instruction
        db(0x0F);  // jcc rel32 (0F 80+cc), its displacement filled in below
        db(0x80 | pick(16));
        dd(0);
        size_t from = getSize();
        one();
        auto rel = static_cast<int32_t>(getSize() - from);
        std::memcpy(const_cast<uint8_t*>(getCode()) + from - 4, &rel, sizeof rel);
        break;
      }
      case 18:
        db(0xE8);  // call rel32 to kFunc (the displacement is filled in by load())
        dd(0);
        calls_.push_back(getSize());
        break;
      case 19:
        if (pick(2))
          mov(mem(sz), reg(sz));
        else
          xchg(reg(sz), reg(sz));  // interpreted (not a translated family)
        break;
      case 20: {  // shifts and rotates by CL
        Xbyak::Reg r = reg(sz);
        switch (pick(5)) {
          case 0:
            shl(r, cl);
            break;
          case 1:
            shr(r, cl);
            break;
          case 2:
            sar(r, cl);
            break;
          case 3:
            rol(r, cl);
            break;
          default:
            ror(r, cl);
            break;
        }
        break;
      }
      case 21:
        switch (pick(3)) {
          case 0:
            nop();
            break;
          case 1:
            pause();
            break;
          default:
            db(0xF3);
            db(0x0F);
            db(0x1E);
            db(0xFA);
            break;  // endbr64
        }
        break;
      default:  // LEAVE with RBP into the stack page (and RSP moved there)
        if (pushed_ == 0) {
          lea(rbp, ptr[rsp - static_cast<int>(8 * (1 + pick(8)))]);
          leave();
        }
        break;
    }
  }

 public:
  // Offsets just past each CALL rel32 (its displacement is the 4 bytes
  // before): the guest's addresses differ from the host buffer's.
  std::vector<size_t> calls_;

 private:
  std::mt19937 rng_;
  unsigned pushed_ = 0;
};

void load(Machine& m, const std::vector<uint8_t>& code, const std::vector<size_t>& calls,
          uint32_t seed) {
  std::memcpy(m.bus.mem.data() + kCode, code.data(), code.size());
  for (size_t end : calls) {
    auto rel = static_cast<int32_t>(kFunc - (kCode + end));
    std::memcpy(m.bus.mem.data() + kCode + end - 4, &rel, 4);
  }
  m.bus.put(kFunc, {0x48, 0x01, 0xC8, 0xC3});  // add rax, rcx; ret
  std::mt19937_64 rng(seed);
  for (uint64_t a = kData; a < kData + 8192; a += 8) m.bus.put_obj<uint64_t>(a, rng());
  for (unsigned r = 0; r < 16; ++r) m.cpu.gpr[r] = rng();
  m.cpu.gpr[kRbx] = kData;
  m.cpu.gpr[kRsp] = kStack;
  m.cpu.set_rflags(0x2 | (rng() & 0x8D5));
  m.cpu.rip = kCode;
}

void expect_same(const Machine& a, const Machine& b, uint32_t seed) {
  for (unsigned r = 0; r < 16; ++r)
    EXPECT_EQ(a.cpu.gpr[r], b.cpu.gpr[r]) << "register " << r << ", seed " << seed;
  EXPECT_EQ(a.cpu.get_rflags(), b.cpu.get_rflags()) << "seed " << seed;
  EXPECT_EQ(a.cpu.rip, b.cpu.rip) << "seed " << seed;
  EXPECT_EQ(a.cpu.stats().instructions, b.cpu.stats().instructions) << "seed " << seed;
  EXPECT_EQ(0, std::memcmp(a.bus.mem.data() + kData, b.bus.mem.data() + kData, 8192))
      << "data, seed " << seed;
  EXPECT_EQ(0,
            std::memcmp(a.bus.mem.data() + kStack - 4096, b.bus.mem.data() + kStack - 4096, 4096))
      << "stack, seed " << seed;
}

TEST(CpuJit, RandomSequencesLeaveTheSameStateInBothTiers) {
  unsigned translated = 0;
  for (uint32_t seed = 1; seed <= 1000; ++seed) {
    Generator g(seed);
    g.program(48);
    std::vector<uint8_t> code(g.getCode(), g.getCode() + g.getSize());
    Machine interp(false), jit(true);
    load(interp, code, g.calls_, seed);
    load(jit, code, g.calls_, seed);
    ASSERT_EQ(testing::run(interp.cpu), CpuExit::kHalted) << "seed " << seed;
    ASSERT_EQ(testing::run(jit.cpu), CpuExit::kHalted) << "seed " << seed;
    expect_same(interp, jit, seed);
    ASSERT_NE(jit.cpu.jit_stats(), nullptr);
    translated += jit.cpu.jit_stats()->inline_records > 0;
    EXPECT_EQ(jit.cpu.jit_stats()->declined, 0u) << "seed " << seed;
    if (HasFailure()) break;
  }
  EXPECT_EQ(translated, 1000u);  // every program ran translated code
}

// IDT entry 14 -> a handler that halts: a #PF leaves its frame below
// kStack and the CPU halted.
void halt_on_page_fault(Machine& m) {
  uint64_t handler = 0x3000;
  m.bus.put_obj<uint64_t>(testing::kIdt + 14 * 16,
                          (handler & 0xFFFF) | (uint64_t{0x18} << 16) | (uint64_t{0x8E} << 40));
  m.bus.put_obj<uint64_t>(testing::kIdt + 14 * 16 + 8, 0);
  m.cpu.idtr = {testing::kIdt, 0xFFF};
  m.bus.put(handler, {0xF4});  // hlt
}

// A load from an unmapped page inside translated code: #PF with RIP, the
// registers written before it and the flags of the instruction before it
// exactly as the interpreter leaves them.
TEST(CpuJit, FaultsInTranslatedCodeArePrecise) {
  for (bool jit : {false, true}) {
    Machine m(jit);
    halt_on_page_fault(m);
    m.bus.put(kCode, {0x48, 0x83, 0xC0, 0x05,  // add rax, 5
                      0x48, 0x39, 0xC8,        // cmp rax, rcx
                      0x48, 0x8B, 0x12,        // mov rdx, [rdx]  (unmapped)
                      0x48, 0x83, 0xC0, 0x01,  // add rax, 1
                      0xF4});
    m.cpu.rip = kCode;
    m.cpu.gpr[kRax] = 1;
    m.cpu.gpr[kRcx] = 6;
    m.cpu.gpr[kRdx] = 0x7FFF00000000ull;  // not mapped (1 GiB identity map)
    m.cpu.gpr[kRsp] = kStack;
    ASSERT_EQ(testing::run(m.cpu), CpuExit::kHalted);
    EXPECT_EQ(m.cpu.cr2, 0x7FFF00000000ull) << "jit " << jit;
    // The frame: SS, RSP, RFLAGS, CS, RIP, error code down from kStack.
    EXPECT_EQ(m.bus.get<uint64_t>(kStack - 40), kCode + 7) << "faulting RIP, jit " << jit;
    EXPECT_EQ(m.cpu.gpr[kRax], 6u) << "jit " << jit;
    // The flags pushed are CMP 6, 6's: ZF and PF set, CF clear.
    uint64_t pushed = m.bus.get<uint64_t>(kStack - 24);
    EXPECT_EQ(pushed & 0x8D5, rflags::kZf | rflags::kPf) << "jit " << jit;
  }
}

// A fault in NEG or NOT of memory after a handler call and a rotate: the
// frame holds the same flags in both tiers (the rotate's inline code must
// not take the host's leftover flags for the guest's).
TEST(CpuJit, FaultsInUnaryMemoryFormsLeaveTheSameFlags) {
  for (uint8_t modrm : {0x1A, 0x12}) {  // neg qword [rdx], not qword [rdx]
    uint64_t frame[2][2];
    for (bool jit : {false, true}) {
      Machine m(jit);
      halt_on_page_fault(m);
      m.bus.put(kCode, {0x48, 0x83, 0xC0,  0x05,  // add rax, 5
                        0x48, 0x39, 0xC8,         // cmp rax, rcx
                        0x48, 0x0F, 0xCB,         // bswap rbx (a handler call)
                        0x48, 0xD1, 0xC6,         // rol rsi, 1
                        0x48, 0xF7, modrm,        // neg/not qword [rdx] (unmapped)
                        0x48, 0x83, 0xC0,  0x01,  // add rax, 1
                        0xF4});
      m.cpu.rip = kCode;
      m.cpu.gpr[kRax] = 1;
      m.cpu.gpr[kRcx] = 7;  // CMP 6, 7: CF, SF, AF set, ZF clear
      m.cpu.gpr[kRsi] = 0x8000000000000001ull;
      m.cpu.gpr[kRdx] = 0x7FFF00000000ull;  // not mapped (1 GiB identity map)
      m.cpu.gpr[kRsp] = kStack;
      ASSERT_EQ(testing::run(m.cpu), CpuExit::kHalted);
      frame[jit][0] = m.bus.get<uint64_t>(kStack - 40);  // RIP
      frame[jit][1] = m.bus.get<uint64_t>(kStack - 24) & 0x8D5;
    }
    EXPECT_EQ(frame[0][0], kCode + 13);
    EXPECT_EQ(frame[1][0], frame[0][0]) << "modrm " << int{modrm};
    EXPECT_EQ(frame[1][1], frame[0][1]) << "modrm " << int{modrm};
  }
}

// A store into the running block's own code: the next instruction runs as
// rewritten (the translated block is left and dropped at once).
TEST(CpuJit, StoresIntoTheRunningBlockTakeEffectAtOnce) {
  Machine m(true);
  // mov byte [rip+1], 0x07 rewrites the immediate of the next instruction
  // (add eax, 1 -> add eax, 7).
  m.bus.put(kCode, {0xC6, 0x05, 0x02, 0x00, 0x00, 0x00, 0x07,  // mov byte [rip+2], 7
                    0x83, 0xC0, 0x01,                          // add eax, 1
                    0xF4});
  m.cpu.rip = kCode;
  m.cpu.gpr[kRsp] = kStack;
  ASSERT_EQ(testing::run(m.cpu), CpuExit::kHalted);
  EXPECT_EQ(m.cpu.gpr[kRax], 7u);
}

// A code buffer too small for every block: it is flushed whole when full,
// translation goes on, and the program's result is unchanged.
TEST(CpuJit, AFullCodeBufferIsFlushedWhole) {
  Machine m(true);
  m.cpu.set_jit(JitOptions{true, 0, 16 * 1024});
  // 200 blocks: "add eax, k; jmp next" each, run 20 times by an outer loop.
  std::vector<uint8_t> code = {0xB9, 0x14, 0x00, 0x00, 0x00};  // mov ecx, 20
  size_t loop = code.size();
  for (unsigned k = 0; k < 200; ++k) {
    code.insert(code.end(), {0x83, 0xC0, static_cast<uint8_t>(k % 100)});  // add eax, k % 100
    code.insert(code.end(), {0xEB, 0x00});                                 // jmp (next)
  }
  code.insert(code.end(), {0xFF, 0xC9});  // dec ecx
  auto back = static_cast<int32_t>(loop - (code.size() + 6));
  code.insert(code.end(), {0x0F, 0x85});  // jnz loop (rel32)
  for (int b = 0; b < 4; ++b) code.push_back(static_cast<uint8_t>(back >> (8 * b)));
  code.push_back(0xF4);
  std::memcpy(m.bus.mem.data() + kCode, code.data(), code.size());
  m.cpu.rip = kCode;
  m.cpu.gpr[kRsp] = kStack;
  ASSERT_EQ(testing::run(m.cpu), CpuExit::kHalted);
  uint64_t per_pass = 0;
  for (unsigned k = 0; k < 200; ++k) per_pass += k % 100;
  EXPECT_EQ(m.cpu.gpr[kRax], 20 * per_pass);
  ASSERT_NE(m.cpu.jit_stats(), nullptr);
  EXPECT_GT(m.cpu.jit_stats()->flushes, 0u);
  EXPECT_LE(m.cpu.jit_stats()->code_bytes, 16u * 1024);
  EXPECT_EQ(m.cpu.jit_stats()->declined, 0u);
}

// A hot loop runs linked translated blocks: the instruction count stays
// exact and nearly every block is entered through a link: a patched direct
// exit (the call, the loop's branch) or a return's lookup.
TEST(CpuJit, LinkedBlocksCountExactly) {
  Machine m(true);
  m.bus.put(kCode, {0xB9, 0xE8, 0x03, 0x00, 0x00,  // mov ecx, 1000
                    0x83, 0xC0, 0x01,              // loop: add eax, 1
                    0xE8, 0x05, 0x00, 0x00, 0x00,  // call f
                    0xFF, 0xC9,                    // dec ecx
                    0x75, 0xF4,                    // jnz loop
                    0xF4,                          // hlt
                    0xFF, 0xC3,                    // f: inc ebx
                    0xC3});                        // ret
  m.cpu.rip = kCode;
  m.cpu.gpr[kRsp] = kStack;
  ASSERT_EQ(testing::run(m.cpu), CpuExit::kHalted);
  EXPECT_EQ(m.cpu.gpr[kRax], 1000u);
  EXPECT_EQ(m.cpu.gpr[kRbx], 1000u);
  EXPECT_EQ(m.cpu.stats().instructions, 6002u);
  // The executor runs few blocks (a return's lookup does not count one).
  EXPECT_LT(m.cpu.stats().blocks, 60u);
  ASSERT_NE(m.cpu.jit_stats(), nullptr);
  EXPECT_GE(m.cpu.jit_stats()->patched, 2u);
  EXPECT_GE(m.cpu.jit_stats()->blocks, 3u);
  EXPECT_EQ(m.cpu.jit_stats()->fallback_records, 1u);  // hlt
}

// A store into a block that patched direct exits enter undoes the patches:
// the loop's next pass runs the new code. The loop branches straight to
// `body`, whose ADD immediate another block rewrites halfway.
TEST(CpuJit, DroppingABlockUnpatchesTheExitsIntoIt) {
  Machine m(true);
  struct Code : Xbyak::CodeGenerator {
    Code() {
      Xbyak::Label loop, body, imm, skip;
      mov(ecx, 100);
      L(loop);
      add(eax, 1);
      jmp(body, T_NEAR);
      L(body);
      db(0x83);  // add ebx, imm8
      db(0xC3);
      L(imm);
      db(0x01);
      cmp(ecx, 51);
      jne(skip);
      mov(byte[rip + imm], 3);  // ends the block: the next iteration sees it
      jmp(skip);
      L(skip);
      dec(ecx);
      jnz(loop, T_NEAR);
      hlt();
    }
  } code;
  std::memcpy(m.bus.mem.data() + kCode, code.getCode(), code.getSize());
  m.cpu.rip = kCode;
  m.cpu.gpr[kRsp] = kStack;
  ASSERT_EQ(testing::run(m.cpu), CpuExit::kHalted);
  EXPECT_EQ(m.cpu.gpr[kRax], 100u);
  EXPECT_EQ(m.cpu.gpr[kRbx], 50u * 1 + 50u * 3);
  ASSERT_NE(m.cpu.jit_stats(), nullptr);
  EXPECT_GE(m.cpu.jit_stats()->unpatched, 1u);
  EXPECT_GE(m.cpu.jit_stats()->patched, 3u);
}

// Indirect branches (JMP through a register and through memory, CALL
// through a register) and returns leave translated code through the
// return lookup: both tiers reach the same state.
TEST(CpuJit, IndirectBranchesMatchTheInterpreter) {
  struct Code : Xbyak::CodeGenerator {
    Code() {
      Xbyak::Label loop, f, g, next, table, done;
      mov(ecx, 300);
      L(loop);
      lea(rax, ptr[rip + f]);
      test(ecx, 1);
      jz(next);
      lea(rax, ptr[rip + g]);
      L(next);
      call(rax);
      jmp(ptr[rip + table]);
      L(f);
      add(rbx, 3);
      ret();
      L(g);
      lea(rbx, ptr[rbx + rbx * 4]);
      ret();
      L(done);
      dec(ecx);
      jnz(loop, T_NEAR);
      hlt();
      align(8);
      L(table);
      putL(done);
    }
  };
  std::vector<uint64_t> results;
  for (bool jit : {false, true}) {
    Machine m(jit);
    Code code;
    code.ready();
    // putL wrote the absolute host address of `done`: make it a guest one.
    auto* host = code.getCode();
    size_t table = code.getSize() - 8;
    uint64_t done_host;
    std::memcpy(&done_host, host + table, 8);
    uint64_t done_guest = kCode + (done_host - reinterpret_cast<uint64_t>(host));
    std::memcpy(m.bus.mem.data() + kCode, host, code.getSize());
    std::memcpy(m.bus.mem.data() + kCode + table, &done_guest, 8);
    m.cpu.rip = kCode;
    m.cpu.gpr[kRsp] = kStack;
    ASSERT_EQ(testing::run(m.cpu), CpuExit::kHalted);
    EXPECT_EQ(m.cpu.gpr[kRsp], kStack);
    results.push_back(m.cpu.gpr[kRbx]);
    results.push_back(m.cpu.stats().instructions);
    if (jit) {
      ASSERT_NE(m.cpu.jit_stats(), nullptr);
      EXPECT_EQ(m.cpu.jit_stats()->fallback_records, 1u);  // hlt
    }
  }
  EXPECT_EQ(results[0], results[2]);
  EXPECT_EQ(results[1], results[3]);
  EXPECT_NE(results[0], 0u);
}

}  // namespace
}  // namespace vessel::cpu

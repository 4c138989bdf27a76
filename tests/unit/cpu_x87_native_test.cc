// The x87 handlers against the host's own x87: the same instruction bytes run
// natively (in an executable mapping, as a function taking the data area in
// RDI) and on the software CPU, over a grid of operands (zeros, normals,
// denormals, infinities, NaNs, an unnormal, huge and tiny values) and control
// words (rounding and precision control, each exception unmasked). The status
// word, EFLAGS of FCOMI, the stack contents and stored results must match bit
// for bit. The snippets end with FNCLEX before any waiting instruction, so
// an unmasked exception does not raise SIGFPE natively.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cfloat>
#include <cstring>
#include <string>
#include <vector>

#include "cpu_x87_fixture.h"

namespace vessel::cpu {
namespace {

using testing::CpuX87;
using testing::kData;

struct Op {
  const char* name;
  std::vector<uint8_t> bytes;
};

// Before each op (XOR: the same arithmetic flags on both sides):
const std::vector<uint8_t> kPrologue = /* xor eax, eax; fninit; fldcw word ptr [rdi+0x20]; fld tbyte
                                          ptr [rdi+0x10]; fld tbyte ptr [rdi] */
    {0x31, 0xc0, 0xdb, 0xe3, 0xd9, 0x6f, 0x20, 0xdb, 0x6f, 0x10, 0xdb, 0x2f};
// After: the status word and flags, FNCLEX and the masked control word at
// 0x22 (so that no unmasked exception can fault in the following waiting
// instructions), then the stack (three pops) and FNINIT.
const std::vector<uint8_t> kEpilogue =
    /* fnstsw word ptr [rdi+0x100]; fnclex; fldcw word ptr [rdi+0x22]; setc byte ptr [rdi+0x102];
       setz byte ptr [rdi+0x103]; setp byte ptr [rdi+0x104]; fstp tbyte ptr [rdi+0x110]; fstp tbyte
       ptr [rdi+0x120]; fstp tbyte ptr [rdi+0x130]; fnstsw word ptr [rdi+0x106]; fninit */
    {0xdd, 0xbf, 0x00, 0x01, 0x00, 0x00, 0xdb, 0xe2, 0xd9, 0x6f, 0x22, 0x0f, 0x92, 0x87, 0x02,
     0x01, 0x00, 0x00, 0x0f, 0x94, 0x87, 0x03, 0x01, 0x00, 0x00, 0x0f, 0x9a, 0x87, 0x04, 0x01,
     0x00, 0x00, 0xdb, 0xbf, 0x10, 0x01, 0x00, 0x00, 0xdb, 0xbf, 0x20, 0x01, 0x00, 0x00, 0xdb,
     0xbf, 0x30, 0x01, 0x00, 0x00, 0xdd, 0xbf, 0x06, 0x01, 0x00, 0x00, 0xdb, 0xe3};

const Op kOps[] = {
    {"fadd", /* fadd st, st(1) */ {0xd8, 0xc1}},
    {"fsub", /* fsub st, st(1) */ {0xd8, 0xe1}},
    {"fsubr", /* fsubr st, st(1) */ {0xd8, 0xe9}},
    {"fmul", /* fmul st, st(1) */ {0xd8, 0xc9}},
    {"fdiv", /* fdiv st, st(1) */ {0xd8, 0xf1}},
    {"fdivr", /* fdivr st, st(1) */ {0xd8, 0xf9}},
    {"faddp", /* faddp st(1), st */ {0xde, 0xc1}},
    {"fcom", /* fcom st(1) */ {0xd8, 0xd1}},
    {"fucomp", /* fucomp st(1) */ {0xdd, 0xe9}},
    {"fcomi", /* fcomi st, st(1) */ {0xdb, 0xf1}},
    {"fucomip", /* fucomip st, st(1) */ {0xdf, 0xe9}},
    {"fprem", /* fprem */ {0xd9, 0xf8}},
    {"fprem1", /* fprem1 */ {0xd9, 0xf5}},
    {"fscale", /* fscale */ {0xd9, 0xfd}},
    {"fpatan", /* fpatan */ {0xd9, 0xf3}},
    {"fyl2x", /* fyl2x */ {0xd9, 0xf1}},
    {"fyl2xp1", /* fyl2xp1 */ {0xd9, 0xf9}},
    {"fxch", /* fxch st(1) */ {0xd9, 0xc9}},
    {"fsqrt", /* fsqrt */ {0xd9, 0xfa}},
    {"frndint", /* frndint */ {0xd9, 0xfc}},
    {"fsin", /* fsin */ {0xd9, 0xfe}},
    {"fcos", /* fcos */ {0xd9, 0xff}},
    {"fptan", /* fptan */ {0xd9, 0xf2}},
    {"fsincos", /* fsincos */ {0xd9, 0xfb}},
    {"fxtract", /* fxtract */ {0xd9, 0xf4}},
    {"fxam", /* fxam */ {0xd9, 0xe5}},
    {"ftst", /* ftst */ {0xd9, 0xe4}},
    {"fchs", /* fchs */ {0xd9, 0xe0}},
    {"fabs", /* fabs */ {0xd9, 0xe1}},
    {"f2xm1", /* f2xm1 */ {0xd9, 0xf0}},
    {"fst m32", /* fst dword ptr [rdi+0x150] */ {0xd9, 0x97, 0x50, 0x01, 0x00, 0x00}},
    {"fst m64", /* fst qword ptr [rdi+0x150] */ {0xdd, 0x97, 0x50, 0x01, 0x00, 0x00}},
    {"fist m16", /* fist word ptr [rdi+0x150] */ {0xdf, 0x97, 0x50, 0x01, 0x00, 0x00}},
    {"fist m32", /* fist dword ptr [rdi+0x150] */ {0xdb, 0x97, 0x50, 0x01, 0x00, 0x00}},
    {"fistp m64", /* fistp qword ptr [rdi+0x150] */ {0xdf, 0xbf, 0x50, 0x01, 0x00, 0x00}},
    {"fisttp m32", /* fisttp dword ptr [rdi+0x150] */ {0xdb, 0x8f, 0x50, 0x01, 0x00, 0x00}},
    {"fbstp", /* fbstp tbyte ptr [rdi+0x150] */ {0xdf, 0xb7, 0x50, 0x01, 0x00, 0x00}},
    {"fadd m32", /* fadd dword ptr [rdi+0x30] */ {0xd8, 0x47, 0x30}},
    {"fdivr m64", /* fdivr qword ptr [rdi+0x30] */ {0xdc, 0x7f, 0x30}},
    {"fcom m32", /* fcom dword ptr [rdi+0x30] */ {0xd8, 0x57, 0x30}},
    {"fimul m16", /* fimul word ptr [rdi+0x30] */ {0xde, 0x4f, 0x30}},
    {"fld m32", /* fld dword ptr [rdi+0x30] */ {0xd9, 0x47, 0x30}},
    {"fld m64", /* fld qword ptr [rdi+0x30] */ {0xdd, 0x47, 0x30}},
    {"fild m16", /* fild word ptr [rdi+0x30] */ {0xdf, 0x47, 0x30}},
    {"ficomp m32", /* ficomp dword ptr [rdi+0x30] */ {0xda, 0x5f, 0x30}},
    {"fisub m32", /* fisub dword ptr [rdi+0x30] */ {0xda, 0x67, 0x30}},
    {"fcompp", /* fcompp */ {0xde, 0xd9}},
    {"fucomi", /* fucomi st, st(1) */ {0xdb, 0xe9}},
    {"fcomip", /* fcomip st, st(1) */ {0xdf, 0xf1}},
    {"fsubp", {0xDE, 0xE9}},
    {"fsubrp", {0xDE, 0xE1}},
    {"fdivp", {0xDE, 0xF9}},
    {"fdivrp", {0xDE, 0xF1}},
    {"fsub st1", {0xDC, 0xE9}},
    {"fdivr st1", {0xDC, 0xF1}},
    {"fld st1", /* fld st(1) */ {0xd9, 0xc1}},
    {"fst st1", /* fst st(1) */ {0xdd, 0xd1}},
    {"fstp st1", /* fstp st(1) */ {0xdd, 0xd9}},
    {"fistp m16", /* fistp word ptr [rdi+0x150] */ {0xdf, 0x9f, 0x50, 0x01, 0x00, 0x00}},
    {"fisttp m16", /* fisttp word ptr [rdi+0x150] */ {0xdf, 0x8f, 0x50, 0x01, 0x00, 0x00}},
    {"fisttp m64", /* fisttp qword ptr [rdi+0x150] */ {0xdd, 0x8f, 0x50, 0x01, 0x00, 0x00}},
    {"fstp m80", /* fstp tbyte ptr [rdi+0x150] */ {0xdb, 0xbf, 0x50, 0x01, 0x00, 0x00}},
    {"fcmovnbe", /* fcmovnbe st, st(1) */ {0xdb, 0xd1}},
    {"ffree", /* ffree st(1) */ {0xdd, 0xc1}},
    {"fincstp", /* fincstp */ {0xd9, 0xf7}},
    // FCW, FSW and the full tag word (computed from the contents) land in
    // the compared area; the pointers after them do not.
    {"fnstenv", /* fnstenv [rdi+0x154] */ {0xd9, 0xb7, 0x54, 0x01, 0x00, 0x00}},
    {"ffree; fnstenv",
     /* ffree st(1); fnstenv [rdi+0x154] */ {0xdd, 0xc1, 0xd9, 0xb7, 0x54, 0x01, 0x00, 0x00}},
};

struct Value {
  uint64_t significand;
  uint16_t sign_exponent;
};

const Value kValues[] = {
    {0, 0},                           // +0
    {0, 0x8000},                      // -0
    {0x8000000000000000ull, 0x3FFF},  // 1
    {0xA000000000000000ull, 0xC000},  // -2.5
    {0xC000000000000000ull, 0x4000},  // 3
    {0xCCCCCCCCCCCCCCCDull, 0x3FFB},  // 0.1
    {0xC90FDAA22168C235ull, 0x4000},  // pi
    {0xC90FDAA22168C235ull, 0x403F},  // pi * 2^63
    {0x0000000000001234ull, 0x0000},  // denormal
    {0x8000000000000001ull, 0x0000},  // pseudo-denormal
    {0xFFFFFFFFFFFFFFFFull, 0x7FFE},  // largest
    {0x8000000000000000ull, 0x0001},  // smallest normal
    {0x8000000000000000ull, 0x7FFF},  // +inf
    {0x8000000000000000ull, 0xFFFF},  // -inf
    {0xC000000000000001ull, 0x7FFF},  // QNaN
    {0x8000000000000001ull, 0xFFFF},  // SNaN
    {0x4000000000000000ull, 0x3FFF},  // unnormal
    {0x9A3B000000000000ull, 0x401C},  // 1.2e9 (integer)
};

// Masked with each rounding and precision control; then each exception unmasked.
const uint16_t kControlWords[] = {0x037F, 0x0F7F, 0x0B7F, 0x077F, 0x027F, 0x007F, 0x037E,
                                  0x037D, 0x037B, 0x0377, 0x036F, 0x035F, 0x0340};

using NativeFn = void (*)(uint8_t*);

class X87Native : public CpuX87 {
 protected:
  void SetUp() override {
    CpuX87::SetUp();
    page_ = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(page_, MAP_FAILED);
  }
  void TearDown() override { munmap(page_, 4096); }

  void set_native(const std::vector<uint8_t>& code) {
    mprotect(page_, 4096, PROT_READ | PROT_WRITE);
    std::memcpy(page_, code.data(), code.size());
    static_cast<uint8_t*>(page_)[code.size()] = 0xC3;  // ret
    mprotect(page_, 4096, PROT_READ | PROT_EXEC);
  }

  void* page_ = nullptr;
};

void put_value(uint8_t* p, const Value& v) {
  std::memcpy(p, &v.significand, 8);
  std::memcpy(p + 8, &v.sign_exponent, 2);
}

std::string hex(const uint8_t* p, size_t n) {
  std::string s;
  char b[4];
  for (size_t k = 0; k < n; ++k) {
    std::snprintf(b, sizeof b, "%02x", p[k]);
    s += b;
  }
  return s;
}

TEST_F(X87Native, EveryOperationMatchesTheHost) {
  unsigned mismatches = 0, runs = 0;
  for (const Op& op : kOps) {
    std::vector<uint8_t> code = cat(cat(kPrologue, op.bytes), kEpilogue);
    set_native(code);
    auto native = reinterpret_cast<NativeFn>(page_);
    cpu.gpr[kRdi] = kData;
    ASSERT_EQ(run(code), -1) << op.name;
    for (const Value& a : kValues) {
      for (const Value& b : kValues) {
        for (uint16_t cw : kControlWords) {
          alignas(16) uint8_t host[0x160] = {};
          put_value(host, a);
          put_value(host + 0x10, b);
          std::memcpy(host + 0x20, &cw, 2);
          host[0x22] = 0x7F;
          host[0x23] = 0x03;
          std::memcpy(host + 0x30, &a.significand, 8);  // the memory operand
          std::memcpy(bus.mem.data() + kData, host, sizeof host);
          cpu.gpr[kRdi] = kData;
          ASSERT_EQ(rerun(code.size()), -1) << op.name;
          native(host);
          ++runs;
          const uint8_t* soft = bus.mem.data() + kData;
          if (std::memcmp(soft + 0x100, host + 0x100, 0x60) != 0) {
            if (++mismatches <= 20) {
              ADD_FAILURE() << op.name << " a=" << hex(reinterpret_cast<const uint8_t*>(&a), 10)
                            << " b=" << hex(reinterpret_cast<const uint8_t*>(&b), 10)
                            << " cw=" << std::hex << cw << "\n  soft: " << hex(soft + 0x100, 0x60)
                            << "\n  host: " << hex(host + 0x100, 0x60);
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << runs << " runs";
}

// Random x87 instructions (every escape opcode and ModRM.reg, register forms
// and [RDI+disp8] memory forms) from random register contents, tags, TOP and
// control words, unmasked exceptions included: the host must survive (no
// SIGFPE, no host x87 stack damage) and each run ends at the HLT or in an
// exception handler.
// The undefined encodings of the x87 escape opcodes (SDM Vol. 2, A.4).
bool x87_hole(unsigned esc, unsigned mod, unsigned reg, unsigned rm) {
  if (mod != 3)
    return (esc == 1 && reg == 1) || (esc == 3 && (reg == 4 || reg == 6)) || (esc == 5 && reg == 5);
  switch (esc) {
    case 1:
      return (reg == 2 && rm != 0) || (reg == 4 && (rm == 2 || rm == 3 || rm >= 6)) ||
             (reg == 5 && rm == 7);
    case 2:
      return reg == 4 || reg >= 6 || (reg == 5 && rm != 1);
    case 3:
      return (reg == 4 && rm >= 5) || reg == 7;
    case 5:
      return reg >= 6;
    case 6:
      return reg == 3 && rm != 1;
    case 7:
      return (reg == 4 && rm != 0) || reg == 7;
    default:
      return false;
  }
}

TEST_F(CpuX87, RandomInstructionsFromRandomStates) {
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  auto next = [&seed] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  const uint16_t specials[] = {0x0000, 0x7FFF, 0xFFFF, 0x3FFF, 0x8000, 0x403E, 0x0001, 0x7FFE};
  unsigned halted = 0;
  for (unsigned round = 0; round < 3000; ++round) {
    std::vector<uint8_t> code;
    for (unsigned k = 0; k < 12; ++k) {
      uint64_t r = next();
      while (x87_hole(r & 7, (r >> 6) & 1 ? 3 : 1, (r >> 3) & 7, (r >> 8) & 7)) r = next();
      code.push_back(static_cast<uint8_t>(0xD8 + (r & 7)));
      uint8_t reg = (r >> 3) & 7;
      if ((r >> 6) & 1) {
        code.push_back(static_cast<uint8_t>(0xC0 | (reg << 3) | ((r >> 8) & 7)));
      } else {
        code.push_back(static_cast<uint8_t>(0x40 | (reg << 3) | 7));  // [rdi + disp8]
        code.push_back(static_cast<uint8_t>((r >> 16) & 0x7F));
      }
    }
    X87State& s = x();
    for (auto& f : s.regs) {
      uint64_t r = next();
      f.significand = next();
      f.sign_exponent = (r & 1) ? specials[(r >> 1) & 7] ^ static_cast<uint16_t>(r & 0x8000)
                                : static_cast<uint16_t>(r >> 16);
    }
    uint64_t r = next();
    s.ftw = static_cast<uint16_t>(r);
    s.fsw = static_cast<uint16_t>((r >> 16) & 0x3F7F);  // no ES/B pending
    s.fcw = static_cast<uint16_t>(((r >> 32) & 0x0F3F) | 0x40);
    if ((r >> 48) & 3) s.fcw |= 0x3F;  // mostly masked, so that runs get far
    for (unsigned k = 0; k < 256; k += 8) bus.put_obj<uint64_t>(kData + k, next());
    cpu.gpr[kRdi] = kData;
    int v = run(code);
    if (v == -1) ++halted;
    EXPECT_TRUE(v == -1 || v == kMf) << "vector " << v;
  }
  EXPECT_GT(halted, 1000u);
}

}  // namespace
}  // namespace vessel::cpu

// The x87 FPU of the software CPU: instructions run on a Cpu in 64-bit mode,
// results checked against values computed by hand or by the host's 80-bit
// long double; stack faults, unmasked exceptions (#MF), #NM, and the
// FNSTENV/FNSAVE/FXSAVE images.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cpu_x87_fixture.h"

namespace vessel::cpu {
namespace {

using testing::CpuX87;
using testing::kData;
namespace sw = x87::sw;

// Within a few units in the last place of the 64-bit significand.
#define EXPECT_NEAR_LD(a, b) EXPECT_LE(fabsl((a) - (b)), 4 * 0x1p-63L * fabsl(b))

const std::vector<uint8_t> kLoad225 =
    /* fld qword ptr [0x5008] */ {0xdd, 0x04, 0x25, 0x08, 0x50, 0x00, 0x00};
const std::vector<uint8_t> kLoad15 =
    /* fld dword ptr [0x5000] */ {0xd9, 0x04, 0x25, 0x00, 0x50, 0x00, 0x00};

TEST_F(CpuX87, FninitGivesTheStatusAndControlWordsLinuxChecks) {
  x().fsw = 0x3801;
  x().fcw = 0;
  x().ftw = 0;
  put<uint32_t>(0, 0xFFFFFFFF);
  ASSERT_EQ(run(/* fninit; fnstsw word ptr [0x5000]; fnstcw word ptr [0x5002]; fnstsw ax */ {
                0xdb, 0xe3, 0xdd, 0x3c, 0x25, 0x00, 0x50, 0x00, 0x00, 0xd9, 0x3c, 0x25, 0x02, 0x50,
                0x00, 0x00, 0xdf, 0xe0}),
            -1);
  EXPECT_EQ(get<uint16_t>(0), 0);
  EXPECT_EQ(get<uint16_t>(2), 0x037F);
  EXPECT_EQ(cpu.gpr[kRax] & 0xFFFF, 0u);
  EXPECT_EQ(x().ftw, 0xFFFF);
}

TEST_F(CpuX87, FldcwKeepsReservedBitSixSet) {
  put<uint16_t>(0, 0x0C00);
  ASSERT_EQ(
      run(/* fldcw word ptr [0x5000]; fnstcw word ptr [0x5002] */ {
          0xd9, 0x2c, 0x25, 0x00, 0x50, 0x00, 0x00, 0xd9, 0x3c, 0x25, 0x02, 0x50, 0x00, 0x00}),
      -1);
  EXPECT_EQ(get<uint16_t>(2), 0x0C40);
}

TEST_F(CpuX87, MemoryOperandArithmetic) {
  put<float>(0, 1.5f);
  put<double>(8, 2.25);
  struct Case {
    std::vector<uint8_t> op;
    long double expected;
  } cases[] = {
      {/* fadd dword ptr [0x5000] */ {0xd8, 0x04, 0x25, 0x00, 0x50, 0x00, 0x00}, 3.75L},
      {/* fmul dword ptr [0x5000] */ {0xd8, 0x0c, 0x25, 0x00, 0x50, 0x00, 0x00}, 3.375L},
      {/* fsub dword ptr [0x5000] */ {0xd8, 0x24, 0x25, 0x00, 0x50, 0x00, 0x00}, 0.75L},
      {/* fsubr dword ptr [0x5000] */ {0xd8, 0x2c, 0x25, 0x00, 0x50, 0x00, 0x00}, -0.75L},
      {/* fdiv dword ptr [0x5000] */ {0xd8, 0x34, 0x25, 0x00, 0x50, 0x00, 0x00}, 1.5L},
      {/* fdivr dword ptr [0x5000] */ {0xd8, 0x3c, 0x25, 0x00, 0x50, 0x00, 0x00}, 1.5L / 2.25L},
      {/* fadd qword ptr [0x5008] */ {0xdc, 0x04, 0x25, 0x08, 0x50, 0x00, 0x00}, 4.5L},
      {/* fdivr qword ptr [0x5008] */ {0xdc, 0x3c, 0x25, 0x08, 0x50, 0x00, 0x00}, 1.0L},
  };
  for (const Case& c : cases) {
    ASSERT_EQ(run(cat(/* fninit */ {0xdb, 0xe3}, cat(kLoad225, c.op))), -1);
    EXPECT_EQ(st(0), c.expected);
    EXPECT_EQ(depth(), 1u);
  }
}

TEST_F(CpuX87, IntegerOperandArithmetic) {
  put<int16_t>(0x20, -3);
  put<int32_t>(0x24, 10);
  ASSERT_EQ(run(/* fninit; fild word ptr [0x5020]; fiadd dword ptr [0x5024]; fimul word ptr
                   [0x5020]; fisubr dword ptr [0x5024]; fidiv word ptr [0x5020] */
                {0xdb, 0xe3, 0xdf, 0x04, 0x25, 0x20, 0x50, 0x00, 0x00, 0xda, 0x04, 0x25, 0x24,
                 0x50, 0x00, 0x00, 0xde, 0x0c, 0x25, 0x20, 0x50, 0x00, 0x00, 0xda, 0x2c, 0x25,
                 0x24, 0x50, 0x00, 0x00, 0xde, 0x34, 0x25, 0x20, 0x50, 0x00, 0x00}),
            -1);
  // ((-3 + 10) * -3) = -21; 10 - -21 = 31; 31 / -3
  EXPECT_EQ(st(0), 31.0L / -3.0L);
  ASSERT_EQ(
      run(/* fninit; fild dword ptr [0x5024]; fisub word ptr [0x5020]; fidivr dword ptr [0x5024] */
          {0xdb, 0xe3, 0xdb, 0x04, 0x25, 0x24, 0x50, 0x00, 0x00, 0xde, 0x24, 0x25,
           0x20, 0x50, 0x00, 0x00, 0xda, 0x3c, 0x25, 0x24, 0x50, 0x00, 0x00}),
      -1);
  EXPECT_EQ(st(0), 10.0L / 13.0L);
}

TEST_F(CpuX87, RegisterFormsIncludingTheReversedEncodings) {
  put<float>(0, 1.5f);
  put<double>(8, 2.25);
  // ST0 = 1.5, ST1 = 2.25, then:
  // D8 E1 fsub st0,st1; D8 C9 fmul st0,st1; DC C1 fadd st1,st0; DC E9 fsub st1,st0;
  // DC E1 fsubr st1,st0; DC F9 fdiv st1,st0; DC F1 fdivr st1,st0
  ASSERT_EQ(run(cat(cat(/* fninit */ {0xdb, 0xe3}, cat(kLoad225, kLoad15)),
                    {0xD8, 0xE1, 0xD8, 0xC9, 0xDC, 0xC1, 0xDC, 0xE9, 0xDC, 0xE1, 0xDC, 0xF9, 0xDC,
                     0xF1})),
            -1);
  long double a = 1.5L, b = 2.25L;
  a = a - b;
  a = a * b;
  b = b + a;
  b = b - a;
  b = a - b;
  b = b / a;
  b = a / b;
  EXPECT_EQ(st(0), a);
  EXPECT_EQ(st(1), b);
  EXPECT_EQ(depth(), 2u);
}

TEST_F(CpuX87, PoppingForms) {
  put<float>(0, 1.5f);
  put<double>(8, 2.25);
  // ST0 = 1.5, ST1 = 2.25; DE xx: ST1 = f(ST1, ST0), pop.
  struct Case {
    uint8_t modrm;
    long double expected;
  } cases[] = {{0xC1, 3.75L},  {0xC9, 3.375L},       {0xE9, 0.75L},
               {0xE1, -0.75L}, {0xF9, 2.25L / 1.5L}, {0xF1, 1.5L / 2.25L}};
  for (const Case& c : cases) {
    ASSERT_EQ(run(cat(cat(/* fninit */ {0xdb, 0xe3}, cat(kLoad225, kLoad15)), {0xDE, c.modrm})),
              -1);
    EXPECT_EQ(st(0), c.expected) << std::hex << int{c.modrm};
    EXPECT_EQ(depth(), 1u);
    EXPECT_EQ(top(), 7u);
  }
}

TEST_F(CpuX87, IntegerLoadsAndStoresFollowTheRoundingControl) {
  put<int16_t>(0x20, -3);
  put<int32_t>(0x24, 10);
  put<int64_t>(0x28, 1000000000000001);
  ASSERT_EQ(
      run(/* fninit; fild word ptr [0x5020]; fild dword ptr [0x5024]; fild qword ptr [0x5028] */ {
          0xdb, 0xe3, 0xdf, 0x04, 0x25, 0x20, 0x50, 0x00, 0x00, 0xdb, 0x04, 0x25,
          0x24, 0x50, 0x00, 0x00, 0xdf, 0x2c, 0x25, 0x28, 0x50, 0x00, 0x00}),
      -1);
  EXPECT_EQ(st(0), 1000000000000001.0L);
  EXPECT_EQ(st(1), 10.0L);
  EXPECT_EQ(st(2), -3.0L);
  struct Case {
    uint16_t fcw;
    double value;
    int32_t rounded, truncated;
  } cases[] = {{0x037F, 2.5, 2, 2},
               {0x077F, -2.5, -3, -2},
               {0x0B7F, 2.1, 3, 2},
               {0x0F7F, -2.7, -2, -2},
               {0x037F, -3.5, -4, -3}};
  for (const Case& c : cases) {
    put<uint16_t>(0x30, c.fcw);
    put<double>(0x38, c.value);
    ASSERT_EQ(run(/* fninit; fldcw word ptr [0x5030]; fld qword ptr [0x5038]; fist dword ptr
                     [0x5040]; fisttp dword ptr [0x5044] */
                  {0xdb, 0xe3, 0xd9, 0x2c, 0x25, 0x30, 0x50, 0x00, 0x00, 0xdd,
                   0x04, 0x25, 0x38, 0x50, 0x00, 0x00, 0xdb, 0x14, 0x25, 0x40,
                   0x50, 0x00, 0x00, 0xdb, 0x0c, 0x25, 0x44, 0x50, 0x00, 0x00}),
              -1);
    EXPECT_EQ(get<int32_t>(0x40), c.rounded) << c.value;
    EXPECT_EQ(get<int32_t>(0x44), c.truncated) << c.value;
    EXPECT_EQ(depth(), 0u);
  }
}

TEST_F(CpuX87, IntegerStoreOverflowGivesTheIndefiniteAndIe) {
  put<double>(0x38, 40000.0);
  ASSERT_EQ(
      run(/* fninit; fld qword ptr [0x5038]; fist word ptr [0x5040]; fistp qword ptr [0x5048] */ {
          0xdb, 0xe3, 0xdd, 0x04, 0x25, 0x38, 0x50, 0x00, 0x00, 0xdf, 0x14, 0x25,
          0x40, 0x50, 0x00, 0x00, 0xdf, 0x3c, 0x25, 0x48, 0x50, 0x00, 0x00}),
      -1);
  EXPECT_EQ(get<uint16_t>(0x40), 0x8000);
  EXPECT_EQ(get<int64_t>(0x48), 40000);
  EXPECT_TRUE(x().fsw & sw::kIe);
  EXPECT_FALSE(x().fsw & sw::kEs);  // masked
}

TEST_F(CpuX87, FloatStoresRoundAndSignalPrecision) {
  put<double>(0x38, 0.1);
  ASSERT_EQ(
      run(/* fninit; fld qword ptr [0x5038]; fst dword ptr [0x5040]; fstp tbyte ptr [0x5050] */ {
          0xdb, 0xe3, 0xdd, 0x04, 0x25, 0x38, 0x50, 0x00, 0x00, 0xd9, 0x14, 0x25,
          0x40, 0x50, 0x00, 0x00, 0xdb, 0x3c, 0x25, 0x50, 0x50, 0x00, 0x00}),
      -1);
  EXPECT_EQ(get<float>(0x40), 0.1f);
  EXPECT_TRUE(x().fsw & sw::kPe);
  long double back;
  std::memcpy(&back, bus.mem.data() + kData + 0x50, 10);
  EXPECT_EQ(back, static_cast<long double>(0.1));
  EXPECT_EQ(depth(), 0u);
}

TEST_F(CpuX87, LoadingASignalingNanSingleRaisesIeAndQuietsIt) {
  put<uint32_t>(0, 0x7F800001);
  ASSERT_EQ(run(/* fninit; fld dword ptr [0x5000]; fstp dword ptr [0x5004] */ {
                0xdb, 0xe3, 0xd9, 0x04, 0x25, 0x00, 0x50, 0x00, 0x00, 0xd9, 0x1c, 0x25, 0x04, 0x50,
                0x00, 0x00}),
            -1);
  EXPECT_TRUE(x().fsw & sw::kIe);
  EXPECT_EQ(get<uint32_t>(4), 0x7FC00001u);
}

TEST_F(CpuX87, ExtendedLoadAndStoreCopyBitsExactly) {
  // An SNaN in double-extended format: no exception, bits unchanged.
  put<uint64_t>(0x60, 0x8000000000000001ull);
  put<uint16_t>(0x68, 0x7FFF);
  ASSERT_EQ(run(/* fninit; fld tbyte ptr [0x5060]; fstp tbyte ptr [0x5070] */ {
                0xdb, 0xe3, 0xdb, 0x2c, 0x25, 0x60, 0x50, 0x00, 0x00, 0xdb, 0x3c, 0x25, 0x70, 0x50,
                0x00, 0x00}),
            -1);
  EXPECT_EQ(get<uint64_t>(0x70), 0x8000000000000001ull);
  EXPECT_EQ(get<uint16_t>(0x78), 0x7FFF);
  EXPECT_FALSE(x().fsw & sw::kIe);
}

TEST_F(CpuX87, ConstantsFollowTheRoundingControl) {
  ASSERT_EQ(run(/* fninit; fldpi; fld1; fldz; fldl2e; fldl2t; fldlg2; fldln2 */ {
                0xdb, 0xe3, 0xd9, 0xeb, 0xd9, 0xe8, 0xd9, 0xee, 0xd9, 0xea, 0xd9, 0xe9, 0xd9, 0xec,
                0xd9, 0xed}),
            -1);
  EXPECT_EQ(x87::st(x(), 6).significand, 0xC90FDAA22168C235ull);
  EXPECT_EQ(x87::st(x(), 6).sign_exponent, 0x4000);
  EXPECT_EQ(st(5), 1.0L);
  EXPECT_EQ(st(4), 0.0L);
  EXPECT_EQ(x87::tag(x(), x87::phys(x(), 4)), 1u);  // zero
  EXPECT_NEAR(static_cast<double>(st(3)), std::log2(std::exp(1.0)), 1e-15);
  EXPECT_NEAR(static_cast<double>(st(2)), std::log2(10.0), 1e-15);
  EXPECT_NEAR(static_cast<double>(st(1)), std::log10(2.0), 1e-15);
  EXPECT_NEAR(static_cast<double>(st(0)), std::log(2.0), 1e-15);
  put<uint16_t>(0x30, 0x0F7F);  // chop
  ASSERT_EQ(run(/* fninit; fldcw word ptr [0x5030]; fldpi */ {0xdb, 0xe3, 0xd9, 0x2c, 0x25, 0x30,
                                                              0x50, 0x00, 0x00, 0xd9, 0xeb}),
            -1);
  EXPECT_EQ(x87::st(x(), 0).significand, 0xC90FDAA22168C234ull);
}

TEST_F(CpuX87, FcomSetsConditionCodes) {
  put<float>(0, 1.5f);
  put<double>(8, 2.25);
  struct Case {
    std::vector<uint8_t> code;
    uint16_t cc;
  } cases[] = {
      {cat(kLoad225, /* fcom dword ptr [0x5000]; fnstsw ax */ {0xd8, 0x14, 0x25, 0x00, 0x50, 0x00,
                                                               0x00, 0xdf, 0xe0}),
       0},
      {cat(kLoad225, /* fcom qword ptr [0x5008]; fnstsw ax */ {0xdc, 0x14, 0x25, 0x08, 0x50, 0x00,
                                                               0x00, 0xdf, 0xe0}),
       sw::kC3},
      {cat(kLoad15, /* fcomp qword ptr [0x5008]; fnstsw ax */ {0xdc, 0x1c, 0x25, 0x08, 0x50, 0x00,
                                                               0x00, 0xdf, 0xe0}),
       sw::kC0},
      {cat(cat(kLoad15, kLoad225), /* fcompp; fnstsw ax */ {0xde, 0xd9, 0xdf, 0xe0}), 0},
      {cat(cat(kLoad225, kLoad15), /* fucompp; fnstsw ax */ {0xda, 0xe9, 0xdf, 0xe0}), sw::kC0},
      {cat(kLoad15, /* fchs; ftst; fnstsw ax */ {0xd9, 0xe0, 0xd9, 0xe4, 0xdf, 0xe0}), sw::kC0},
  };
  for (const Case& c : cases) {
    ASSERT_EQ(run(cat(/* fninit */ {0xdb, 0xe3}, c.code)), -1);
    EXPECT_EQ(cpu.gpr[kRax] & (sw::kC0 | sw::kC2 | sw::kC3), c.cc);
  }
  put<int16_t>(0x20, -3);
  ASSERT_EQ(run(/* fninit; fild word ptr [0x5020]; ficomp word ptr [0x5020]; fnstsw ax */ {
                0xdb, 0xe3, 0xdf, 0x04, 0x25, 0x20, 0x50, 0x00, 0x00, 0xde, 0x1c, 0x25, 0x20, 0x50,
                0x00, 0x00, 0xdf, 0xe0}),
            -1);
  EXPECT_EQ(cpu.gpr[kRax] & (sw::kC0 | sw::kC2 | sw::kC3), sw::kC3);
  EXPECT_EQ(depth(), 0u);
}

TEST_F(CpuX87, FcomiSetsEflagsAndNansAreUnordered) {
  put<float>(0, 1.5f);
  put<double>(8, 2.25);
  put<uint64_t>(0x10, 0x7FF8000000000000ull);  // QNaN
  ASSERT_EQ(run(cat(cat(cat(/* fninit; stc */ {0xdb, 0xe3, 0xf9}, kLoad15), kLoad225),
                    /* fcomi st, st(1) */ {0xdb, 0xf1})),
            -1);
  EXPECT_EQ(cpu.get_rflags() & rflags::kArith, 0u);  // greater: ZF PF CF clear, CF cleared
  ASSERT_EQ(run(cat(cat(/* fninit */ {0xdb, 0xe3}, kLoad225),
                    /* fld qword ptr [0x5010]; fucomip st, st(1) */ {0xdd, 0x04, 0x25, 0x10, 0x50,
                                                                     0x00, 0x00, 0xdf, 0xe9})),
            -1);
  EXPECT_EQ(cpu.get_rflags() & rflags::kArith, rflags::kZf | rflags::kPf | rflags::kCf);
  EXPECT_FALSE(x().fsw & sw::kIe);  // FUCOMI: a QNaN is not invalid
  EXPECT_EQ(depth(), 1u);
  ASSERT_EQ(run(cat(cat(/* fninit */ {0xdb, 0xe3}, kLoad225),
                    /* fld qword ptr [0x5010]; fcomip st, st(1) */ {0xdd, 0x04, 0x25, 0x10, 0x50,
                                                                    0x00, 0x00, 0xdf, 0xf1})),
            -1);
  EXPECT_TRUE(x().fsw & sw::kIe);  // FCOMI: it is
  ASSERT_EQ(run(cat(cat(/* fninit */ {0xdb, 0xe3}, kLoad15),
                    /* fld st(0); fcomi st, st(1) */ {0xd9, 0xc0, 0xdb, 0xf1})),
            -1);
  EXPECT_EQ(cpu.get_rflags() & rflags::kArith, rflags::kZf);
}

TEST_F(CpuX87, FxamClassifies) {
  put<double>(0x10, INFINITY);
  put<uint64_t>(0x18, 0x7FF8000000000000ull);
  put<uint64_t>(0x60, 1);  // denormal in double-extended
  put<uint16_t>(0x68, 0);
  struct Case {
    std::vector<uint8_t> code;
    uint16_t cc;
  } cases[] = {
      {/* fxam */ {0xd9, 0xe5}, sw::kC3 | sw::kC0},  // empty
      {/* fldz; fxam */ {0xd9, 0xee, 0xd9, 0xe5}, sw::kC3},
      {/* fld1; fchs; fxam */ {0xd9, 0xe8, 0xd9, 0xe0, 0xd9, 0xe5}, sw::kC2 | sw::kC1},
      {/* fld qword ptr [0x5010]; fxam */ {0xdd, 0x04, 0x25, 0x10, 0x50, 0x00, 0x00, 0xd9, 0xe5},
       sw::kC2 | sw::kC0},
      {/* fld qword ptr [0x5018]; fxam */ {0xdd, 0x04, 0x25, 0x18, 0x50, 0x00, 0x00, 0xd9, 0xe5},
       sw::kC0},
      {/* fld tbyte ptr [0x5060]; fxam */ {0xdb, 0x2c, 0x25, 0x60, 0x50, 0x00, 0x00, 0xd9, 0xe5},
       sw::kC3 | sw::kC2},
      {/* fld1; fabs; fxam */ {0xd9, 0xe8, 0xd9, 0xe1, 0xd9, 0xe5}, sw::kC2},
  };
  for (const Case& c : cases) {
    ASSERT_EQ(run(cat(/* fninit */ {0xdb, 0xe3}, c.code)), -1);
    EXPECT_EQ(x().fsw & sw::kCc, c.cc);
  }
}

TEST_F(CpuX87, SqrtRoundScaleRemainderExtract) {
  put<double>(8, 2.25);
  put<double>(0x10, 3.7);
  put<double>(0x18, 17.0);
  put<double>(0x20, 5.0);
  put<double>(0x28, 18.0);
  ASSERT_EQ(run(/* fninit; fld qword ptr [0x5008]; fsqrt */ {0xdb, 0xe3, 0xdd, 0x04, 0x25, 0x08,
                                                             0x50, 0x00, 0x00, 0xd9, 0xfa}),
            -1);
  EXPECT_EQ(st(0), 1.5L);
  ASSERT_EQ(run(/* fninit; fld qword ptr [0x5008]; frndint */ {0xdb, 0xe3, 0xdd, 0x04, 0x25, 0x08,
                                                               0x50, 0x00, 0x00, 0xd9, 0xfc}),
            -1);
  EXPECT_EQ(st(0), 2.0L);
  ASSERT_EQ(run(/* fninit; fld qword ptr [0x5010]; fld qword ptr [0x5008]; fscale */ {
                0xdb, 0xe3, 0xdd, 0x04, 0x25, 0x10, 0x50, 0x00, 0x00, 0xdd, 0x04, 0x25, 0x08, 0x50,
                0x00, 0x00, 0xd9, 0xfd}),
            -1);
  EXPECT_EQ(st(0), 18.0L);  // 2.25 * 2^3
  // 17 / 5: quotient 3 (Q2 Q1 Q0 = 011 in C0 C3 C1), remainder 2
  ASSERT_EQ(run(/* fninit; fld qword ptr [0x5020]; fld qword ptr [0x5018]; fprem */ {
                0xdb, 0xe3, 0xdd, 0x04, 0x25, 0x20, 0x50, 0x00, 0x00, 0xdd, 0x04, 0x25, 0x18, 0x50,
                0x00, 0x00, 0xd9, 0xf8}),
            -1);
  EXPECT_EQ(st(0), 2.0L);
  EXPECT_EQ(x().fsw & sw::kCc, sw::kC3 | sw::kC1);
  // 18 / 5 rounded to nearest: quotient 4 (100), remainder -2
  ASSERT_EQ(run(/* fninit; fld qword ptr [0x5020]; fld qword ptr [0x5028]; fprem1 */ {
                0xdb, 0xe3, 0xdd, 0x04, 0x25, 0x20, 0x50, 0x00, 0x00, 0xdd, 0x04, 0x25, 0x28, 0x50,
                0x00, 0x00, 0xd9, 0xf5}),
            -1);
  EXPECT_EQ(st(0), -2.0L);
  EXPECT_EQ(x().fsw & sw::kCc, sw::kC0);
  ASSERT_EQ(run(/* fninit; fld qword ptr [0x5028]; fxtract */ {0xdb, 0xe3, 0xdd, 0x04, 0x25, 0x28,
                                                               0x50, 0x00, 0x00, 0xd9, 0xf4}),
            -1);
  EXPECT_EQ(st(0), 1.125L);
  EXPECT_EQ(st(1), 4.0L);
  EXPECT_EQ(depth(), 2u);
}

TEST_F(CpuX87, TranscendentalsMatchTheHost) {
  put<double>(0, 0.5);
  put<double>(8, 3.0);
  put<double>(0x10, 8.0);
  ASSERT_EQ(run(/* fninit; fld qword ptr [0x5000]; fsin */ {0xdb, 0xe3, 0xdd, 0x04, 0x25, 0x00,
                                                            0x50, 0x00, 0x00, 0xd9, 0xfe}),
            -1);
  EXPECT_NEAR_LD(st(0), sinl(0.5L));
  ASSERT_EQ(run(/* fninit; fld qword ptr [0x5000]; fcos */ {0xdb, 0xe3, 0xdd, 0x04, 0x25, 0x00,
                                                            0x50, 0x00, 0x00, 0xd9, 0xff}),
            -1);
  EXPECT_NEAR_LD(st(0), cosl(0.5L));
  ASSERT_EQ(run(/* fninit; fld qword ptr [0x5000]; fptan */ {0xdb, 0xe3, 0xdd, 0x04, 0x25, 0x00,
                                                             0x50, 0x00, 0x00, 0xd9, 0xf2}),
            -1);
  EXPECT_EQ(st(0), 1.0L);
  EXPECT_NEAR_LD(st(1), tanl(0.5L));
  ASSERT_EQ(run(/* fninit; fld qword ptr [0x5000]; fsincos */ {0xdb, 0xe3, 0xdd, 0x04, 0x25, 0x00,
                                                               0x50, 0x00, 0x00, 0xd9, 0xfb}),
            -1);
  EXPECT_NEAR_LD(st(0), cosl(0.5L));
  EXPECT_NEAR_LD(st(1), sinl(0.5L));
  ASSERT_EQ(run(/* fninit; fld1; fld1; fpatan */ {0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xf3}),
            -1);
  EXPECT_NEAR_LD(st(0), atanl(1.0L));
  EXPECT_EQ(depth(), 1u);
  ASSERT_EQ(run(/* fninit; fld qword ptr [0x5008]; fld qword ptr [0x5010]; fyl2x */ {
                0xdb, 0xe3, 0xdd, 0x04, 0x25, 0x08, 0x50, 0x00, 0x00, 0xdd, 0x04, 0x25, 0x10, 0x50,
                0x00, 0x00, 0xd9, 0xf1}),
            -1);
  EXPECT_EQ(st(0), 9.0L);  // 3 * log2(8)
  ASSERT_EQ(run(/* fninit; fld qword ptr [0x5000]; f2xm1 */ {0xdb, 0xe3, 0xdd, 0x04, 0x25, 0x00,
                                                             0x50, 0x00, 0x00, 0xd9, 0xf0}),
            -1);
  EXPECT_NEAR_LD(st(0), sqrtl(2.0L) - 1);
  ASSERT_EQ(run(/* fninit; fld qword ptr [0x5008]; fld qword ptr [0x5000]; fyl2xp1 */ {
                0xdb, 0xe3, 0xdd, 0x04, 0x25, 0x08, 0x50, 0x00, 0x00, 0xdd, 0x04, 0x25, 0x00, 0x50,
                0x00, 0x00, 0xd9, 0xf9}),
            -1);
  EXPECT_NEAR_LD(st(0), 3 * log2l(1.5L));
}

TEST_F(CpuX87, TrigOutOfRangeSetsC2AndKeepsTheOperand) {
  put<double>(0, 0x1p70);
  ASSERT_EQ(run(/* fninit; fld qword ptr [0x5000]; fsin */ {0xdb, 0xe3, 0xdd, 0x04, 0x25, 0x00,
                                                            0x50, 0x00, 0x00, 0xd9, 0xfe}),
            -1);
  EXPECT_TRUE(x().fsw & sw::kC2);
  EXPECT_EQ(st(0), 0x1p70L);
  ASSERT_EQ(run(/* fninit; fld qword ptr [0x5000]; fptan */ {0xdb, 0xe3, 0xdd, 0x04, 0x25, 0x00,
                                                             0x50, 0x00, 0x00, 0xd9, 0xf2}),
            -1);
  EXPECT_TRUE(x().fsw & sw::kC2);
  EXPECT_EQ(depth(), 1u);
}

TEST_F(CpuX87, StackOverflowPushesTheIndefinite) {
  ASSERT_EQ(run(/* fninit; fld1; fld1; fld1; fld1; fld1; fld1; fld1; fld1 */ {
                0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8,
                0xd9, 0xe8, 0xd9, 0xe8}),
            -1);
  EXPECT_EQ(x().fsw & (sw::kIe | sw::kSf), 0);
  ASSERT_EQ(run(/* fldz */ {0xd9, 0xee}), -1);
  EXPECT_EQ(x().fsw & (sw::kIe | sw::kSf | sw::kC1), sw::kIe | sw::kSf | sw::kC1);
  EXPECT_EQ(x87::st(x(), 0), x87::kIndefinite);
  EXPECT_EQ(top(), 7u);
  EXPECT_EQ(depth(), 8u);
}

TEST_F(CpuX87, StackUnderflowStoresTheIndefinite) {
  ASSERT_EQ(run(/* fninit; fld1; fadd st, st(3) */ {0xdb, 0xe3, 0xd9, 0xe8, 0xd8, 0xc3}), -1);
  EXPECT_EQ(x().fsw & (sw::kIe | sw::kSf | sw::kC1), sw::kIe | sw::kSf);
  EXPECT_EQ(x87::st(x(), 0), x87::kIndefinite);
  put<uint32_t>(0, 0);
  ASSERT_EQ(run(/* fninit; fstp dword ptr [0x5000] */ {0xdb, 0xe3, 0xd9, 0x1c, 0x25, 0x00, 0x50,
                                                       0x00, 0x00}),
            -1);
  EXPECT_EQ(get<uint32_t>(0), 0xFFC00000u);
}

TEST_F(CpuX87, UnmaskedStackFaultRaisesMfAtTheNextWaitingInstruction) {
  put<uint16_t>(0x30, 0x037E);  // IE unmasked
  ASSERT_EQ(run(/* fninit; fldcw word ptr [0x5030]; fadd st, st(1); fnstsw ax; fld1 */ {
                0xdb, 0xe3, 0xd9, 0x2c, 0x25, 0x30, 0x50, 0x00, 0x00, 0xd8, 0xc1, 0xdf, 0xe0, 0xd9,
                0xe8}),
            kMf);
  EXPECT_EQ(cpu.gpr[kRax] & (sw::kIe | sw::kSf | sw::kEs | sw::kB),
            sw::kIe | sw::kSf | sw::kEs | sw::kB);
  EXPECT_EQ(depth(), 0u);                 // no indefinite was written
  EXPECT_EQ(fault_rip, code_start + 13);  // the FLD1
  // With CR0.NE = 0 the exception stays pending and nothing faults.
  cpu.cr0 &= ~cr0::kNe;
  ASSERT_EQ(run(/* fld1 */ {0xd9, 0xe8}), -1);
  // FNCLEX clears it.
  cpu.cr0 |= cr0::kNe;
  ASSERT_EQ(run(/* fnclex; fld1; fwait */ {0xdb, 0xe2, 0xd9, 0xe8, 0x9b}), -1);
}

TEST_F(CpuX87, DivideByZero) {
  ASSERT_EQ(run(/* fninit; fld1; fldz; fdivp st(1), st */ {0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xee, 0xde,
                                                           0xf9}),
            -1);
  EXPECT_TRUE(x().fsw & sw::kZe);
  EXPECT_EQ(st(0), INFINITY);
  put<uint16_t>(0x30, 0x037B);  // ZE unmasked: the destination is not written
  ASSERT_EQ(run(/* fninit; fldcw word ptr [0x5030]; fld1; fldz; fdivr st, st(1); fwait */ {
                0xdb, 0xe3, 0xd9, 0x2c, 0x25, 0x30, 0x50, 0x00, 0x00, 0xd9, 0xe8, 0xd9, 0xee, 0xd8,
                0xf9, 0x9b}),
            kMf);
  EXPECT_EQ(st(0), 0.0L);
  EXPECT_EQ(depth(), 2u);
}

TEST_F(CpuX87, CrZeroTsAndEmRaiseNm) {
  cpu.cr0 |= cr0::kTs;
  EXPECT_EQ(run(/* fld1 */ {0xd9, 0xe8}), kNm);
  EXPECT_EQ(run(/* fnstsw ax */ {0xdf, 0xe0}), kNm);
  EXPECT_EQ(run(/* fxsave [0x6000] */ {0x0f, 0xae, 0x04, 0x25, 0x00, 0x60, 0x00, 0x00}), kNm);
  EXPECT_EQ(run(/* fwait */ {0x9b}), kNm);  // TS with MP
  cpu.cr0 &= ~cr0::kMp;
  EXPECT_EQ(run(/* fwait */ {0x9b}), -1);
  cpu.cr0 &= ~cr0::kTs;
  cpu.cr0 |= cr0::kEm;
  EXPECT_EQ(run(/* fninit */ {0xdb, 0xe3}), kNm);
  EXPECT_EQ(run(/* fxrstor [0x6000] */ {0x0f, 0xae, 0x0c, 0x25, 0x00, 0x60, 0x00, 0x00}), kNm);
  EXPECT_EQ(run(/* ldmxcsr [0x5000] */ {0x0f, 0xae, 0x14, 0x25, 0x00, 0x50, 0x00, 0x00}), kUd);
  EXPECT_EQ(run(/* fwait */ {0x9b}), -1);
}

TEST_F(CpuX87, FcmovFxchFfreeAndTopMoves) {
  ASSERT_EQ(run(/* fninit; fld1; fldz; stc; fcmovb st, st(1) */ {0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xee,
                                                                 0xf9, 0xda, 0xc1}),
            -1);
  EXPECT_EQ(st(0), 1.0L);
  ASSERT_EQ(run(/* fninit; fld1; fldz; clc; fcmovb st, st(1) */ {0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xee,
                                                                 0xf8, 0xda, 0xc1}),
            -1);
  EXPECT_EQ(st(0), 0.0L);
  ASSERT_EQ(run(/* fninit; fld1; fldz; clc; fcmovnb st, st(1) */ {0xdb, 0xe3, 0xd9, 0xe8, 0xd9,
                                                                  0xee, 0xf8, 0xdb, 0xc1}),
            -1);
  EXPECT_EQ(st(0), 1.0L);
  ASSERT_EQ(
      run(/* fninit; fld1; fldz; fxch st(1) */ {0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xee, 0xd9, 0xc9}),
      -1);
  EXPECT_EQ(st(0), 1.0L);
  EXPECT_EQ(st(1), 0.0L);
  ASSERT_EQ(run(/* ffree st(1) */ {0xdd, 0xc1}), -1);
  EXPECT_TRUE(x87::empty(x(), 1));
  EXPECT_EQ(top(), 6u);
  ASSERT_EQ(run(/* fincstp; fincstp; fincstp */ {0xd9, 0xf7, 0xd9, 0xf7, 0xd9, 0xf7}), -1);
  EXPECT_EQ(top(), 1u);
  ASSERT_EQ(run(/* fdecstp */ {0xd9, 0xf6}), -1);
  EXPECT_EQ(top(), 0u);
}

TEST_F(CpuX87, PackedBcdRoundTrip) {
  // -1234567890123456789 would not fit; 18 digits: -123456789012345678
  uint8_t bcd[10] = {0x78, 0x56, 0x34, 0x12, 0x90, 0x78, 0x56, 0x34, 0x12, 0x80};
  std::memcpy(bus.mem.data() + kData + 0x60, bcd, 10);
  ASSERT_EQ(run(/* fninit; fbld tbyte ptr [0x5060]; fld st(0); fbstp tbyte ptr [0x5070] */ {
                0xdb, 0xe3, 0xdf, 0x24, 0x25, 0x60, 0x50, 0x00, 0x00, 0xd9, 0xc0, 0xdf, 0x34, 0x25,
                0x70, 0x50, 0x00, 0x00}),
            -1);
  EXPECT_EQ(st(0), -123456789012345678.0L);
  EXPECT_EQ(std::memcmp(bus.mem.data() + kData + 0x70, bcd, 10), 0);
  EXPECT_EQ(depth(), 1u);
}

TEST_F(CpuX87, FnstenvAndFldenv) {
  put<uint16_t>(0x30, 0x0360);
  ASSERT_EQ(run(/* fninit; fldcw word ptr [0x5030]; fld1; fnstenv [0x6000] */ {
                0xdb, 0xe3, 0xd9, 0x2c, 0x25, 0x30, 0x50, 0x00, 0x00, 0xd9, 0xe8, 0xd9, 0x34, 0x25,
                0x00, 0x60, 0x00, 0x00}),
            -1);
  EXPECT_EQ(bus.get<uint16_t>(0x6000), 0x0360);
  EXPECT_EQ(bus.get<uint16_t>(0x6004), 7u << 11);
  EXPECT_EQ(bus.get<uint16_t>(0x6008), 0x3FFF);          // R7 valid, the rest empty
  EXPECT_EQ(bus.get<uint32_t>(0x600C), code_start + 9);  // FIP: the FLD1
  EXPECT_EQ(bus.get<uint16_t>(0x6010), 0x18);            // FCS
  EXPECT_EQ(bus.get<uint16_t>(0x6012), 0x1E8);           // FOP of D9 E8
  EXPECT_EQ(x().fcw, 0x037F);                            // FNSTENV masks all exceptions
  ASSERT_EQ(run(/* fldenv [0x6000] */ {0xd9, 0x24, 0x25, 0x00, 0x60, 0x00, 0x00}), -1);
  EXPECT_EQ(x().fcw, 0x0360);
  EXPECT_EQ(top(), 7u);
  EXPECT_EQ(st(0), 1.0L);
}

TEST_F(CpuX87, FnsaveReinitialisesAndFrstorRestores) {
  ASSERT_EQ(run(/* fninit; fld1; fldpi; fnsave [0x6000] */ {
                0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xeb, 0xdd, 0x34, 0x25, 0x00, 0x60, 0x00, 0x00}),
            -1);
  EXPECT_EQ(x().ftw, 0xFFFF);
  EXPECT_EQ(x().fsw, 0);
  EXPECT_EQ(bus.get<uint64_t>(0x6000 + 28), 0xC90FDAA22168C235ull);  // ST0
  EXPECT_EQ(bus.get<uint16_t>(0x6000 + 36), 0x4000);
  EXPECT_EQ(bus.get<uint64_t>(0x6000 + 38), 0x8000000000000000ull);  // ST1 = 1.0
  ASSERT_EQ(run(/* frstor [0x6000] */ {0xdd, 0x24, 0x25, 0x00, 0x60, 0x00, 0x00}), -1);
  EXPECT_EQ(top(), 6u);
  EXPECT_EQ(st(1), 1.0L);
  EXPECT_EQ(x87::st(x(), 0).significand, 0xC90FDAA22168C235ull);
}

TEST_F(CpuX87, MemoryFaultLeavesTheStackAlone) {
  // A non-canonical address: #GP, and the FSTP does not pop.
  ASSERT_EQ(run(/* fninit; fld1 */ {0xdb, 0xe3, 0xd9, 0xe8}), -1);
  EXPECT_EQ(run(/* mov rax, 0x8000000000000000; fstp dword ptr [rax] */ {
                0x48, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0xd9, 0x18}),
            kGp);
  EXPECT_EQ(depth(), 1u);
}

}  // namespace
}  // namespace vessel::cpu

// The integer extension instructions (exec/intops.cc): CMPXCHG8B/16B, MOVBE,
// POPCNT, LZCNT/TZCNT, BMI1, BMI2, ADCX/ADOX, SYSENTER/SYSEXIT; RDRAND and
// illegal LOCK prefixes raising #UD; the NOP-like instructions; the CPUID bits.
#include <gtest/gtest.h>

#include "cpu/exec/cpuid.h"
#include "cpu_step_util.h"

namespace vessel::cpu {
namespace {

using testing::StepCpu;
constexpr int kNone = -1;

class CpuIntops : public ::testing::Test {
 protected:
  void SetUp() override { s.cpu.gpr[kRbx] = StepCpu::kData; }
  bool flag(uint64_t bit) const { return s.cpu.get_rflags() & bit; }
  StepCpu s;
};

TEST_F(CpuIntops, Cmpxchg8bStoresOnEqualAndLoadsOtherwise) {
  s.bus.put_obj<uint64_t>(StepCpu::kData, 0x11111111'22222222);
  s.cpu.gpr[kRdx] = 0xAAAAAAAA'11111111;  // upper halves ignored
  s.cpu.gpr[kRax] = 0xBBBBBBBB'22222222;
  s.cpu.gpr[kRcx] = 0x33333333;
  s.cpu.gpr[kRbx] = StepCpu::kData;
  s.cpu.gpr[kRsi] = 0;
  ASSERT_EQ(s.run({0xF0, 0x0F, 0xC7, 0x0B}), kNone);  // lock cmpxchg8b [rbx]
  EXPECT_TRUE(flag(rflags::kZf));
  EXPECT_EQ(s.bus.get<uint64_t>(StepCpu::kData), 0x33333333'00000000ull | StepCpu::kData);
  ASSERT_EQ(s.run({0x0F, 0xC7, 0x0B}), kNone);  // now different
  EXPECT_FALSE(flag(rflags::kZf));
  EXPECT_EQ(s.cpu.gpr[kRdx], 0x33333333u);  // zero-extended
  EXPECT_EQ(s.cpu.gpr[kRax], StepCpu::kData);
}

TEST_F(CpuIntops, Cmpxchg16bNeedsAlignmentAndIsAllOrNothing) {
  s.cpu.gpr[kRbx] = StepCpu::kData + 8;
  EXPECT_EQ(s.run({0x48, 0x0F, 0xC7, 0x0B}), static_cast<int>(kGp));
  s.cpu.gpr[kRbx] = StepCpu::kData;
  s.bus.put_obj<uint64_t>(StepCpu::kData, 1);
  s.bus.put_obj<uint64_t>(StepCpu::kData + 8, 2);
  s.cpu.gpr[kRax] = 1;
  s.cpu.gpr[kRdx] = 2;
  s.cpu.gpr[kRcx] = 0xC;
  s.cpu.gpr[kRbx] = StepCpu::kData;
  ASSERT_EQ(s.run({0x48, 0x0F, 0xC7, 0x0B}), kNone);
  EXPECT_TRUE(flag(rflags::kZf));
  EXPECT_EQ(s.bus.get<uint64_t>(StepCpu::kData), StepCpu::kData);
  EXPECT_EQ(s.bus.get<uint64_t>(StepCpu::kData + 8), 0xCu);
  // Not equal: RDX:RAX get the memory.
  ASSERT_EQ(s.run({0x48, 0x0F, 0xC7, 0x0B}), kNone);
  EXPECT_FALSE(flag(rflags::kZf));
  EXPECT_EQ(s.cpu.gpr[kRax], StepCpu::kData);
  EXPECT_EQ(s.cpu.gpr[kRdx], 0xCu);
  // The register form does not exist.
  EXPECT_EQ(s.run({0x48, 0x0F, 0xC7, 0xC8}), static_cast<int>(kUd));
}

TEST_F(CpuIntops, MovbeSwapsBytes) {
  s.bus.put_obj<uint32_t>(StepCpu::kData, 0x11223344);
  ASSERT_EQ(s.run({0x0F, 0x38, 0xF0, 0x03}), kNone);  // movbe eax, [rbx]
  EXPECT_EQ(s.cpu.gpr[kRax], 0x44332211u);
  s.cpu.gpr[kRax] = 0x0102;
  ASSERT_EQ(s.run({0x66, 0x0F, 0x38, 0xF1, 0x03}), kNone);  // movbe [rbx], ax
  EXPECT_EQ(s.bus.get<uint32_t>(StepCpu::kData), 0x11220201u);
}

TEST_F(CpuIntops, PopcntLzcntTzcnt) {
  s.cpu.gpr[kRcx] = 0xF0F0;
  s.cpu.set_rflags(rflags::kCf | rflags::kPf | rflags::kFixed);
  ASSERT_EQ(s.run({0xF3, 0x48, 0x0F, 0xB8, 0xC1}), kNone);  // popcnt rax, rcx
  EXPECT_EQ(s.cpu.gpr[kRax], 8u);
  EXPECT_EQ(s.cpu.get_rflags() & rflags::kArith, 0u);
  s.cpu.gpr[kRcx] = 0;
  ASSERT_EQ(s.run({0xF3, 0x48, 0x0F, 0xB8, 0xC1}), kNone);
  EXPECT_EQ(s.cpu.get_rflags() & rflags::kArith, rflags::kZf);
  ASSERT_EQ(s.run({0xF3, 0x0F, 0xBD, 0xC1}), kNone);  // lzcnt eax, ecx (0)
  EXPECT_EQ(s.cpu.gpr[kRax], 32u);
  EXPECT_TRUE(flag(rflags::kCf));
  EXPECT_FALSE(flag(rflags::kZf));
  s.cpu.gpr[kRcx] = 0x00800000;
  ASSERT_EQ(s.run({0xF3, 0x0F, 0xBD, 0xC1}), kNone);
  EXPECT_EQ(s.cpu.gpr[kRax], 8u);
  ASSERT_EQ(s.run({0xF3, 0x0F, 0xBC, 0xC1}), kNone);  // tzcnt eax, ecx
  EXPECT_EQ(s.cpu.gpr[kRax], 23u);
  s.cpu.gpr[kRcx] = 1;
  ASSERT_EQ(s.run({0xF3, 0x0F, 0xBC, 0xC1}), kNone);
  EXPECT_EQ(s.cpu.gpr[kRax], 0u);
  EXPECT_TRUE(flag(rflags::kZf));
  EXPECT_FALSE(flag(rflags::kCf));
}

TEST_F(CpuIntops, Bmi1) {
  s.cpu.gpr[kRcx] = 0xFF00FF00;
  s.cpu.gpr[kRdx] = 0x12345678;
  ASSERT_EQ(s.run({0xC4, 0xE2, 0x70, 0xF2, 0xC2}), kNone);  // andn eax, ecx, edx
  EXPECT_EQ(s.cpu.gpr[kRax], 0x00340078u);
  s.cpu.gpr[kRdx] = 0x0804;  // start 4, length 8
  s.cpu.gpr[kRcx] = 0xABCDEF;
  ASSERT_EQ(s.run({0xC4, 0xE2, 0x68, 0xF7, 0xC1}), kNone);  // bextr eax, ecx, edx
  EXPECT_EQ(s.cpu.gpr[kRax], 0xDEu);
  s.cpu.gpr[kRcx] = 0b101000;
  ASSERT_EQ(s.run({0xC4, 0xE2, 0x78, 0xF3, 0xD9}), kNone);  // blsi eax, ecx
  EXPECT_EQ(s.cpu.gpr[kRax], 0b1000u);
  EXPECT_TRUE(flag(rflags::kCf));
  ASSERT_EQ(s.run({0xC4, 0xE2, 0x78, 0xF3, 0xD1}), kNone);  // blsmsk eax, ecx
  EXPECT_EQ(s.cpu.gpr[kRax], 0b1111u);
  EXPECT_FALSE(flag(rflags::kCf));
  ASSERT_EQ(s.run({0xC4, 0xE2, 0x78, 0xF3, 0xC9}), kNone);  // blsr eax, ecx
  EXPECT_EQ(s.cpu.gpr[kRax], 0b100000u);
  s.cpu.gpr[kRcx] = 0;
  ASSERT_EQ(s.run({0xC4, 0xE2, 0x78, 0xF3, 0xC9}), kNone);
  EXPECT_TRUE(flag(rflags::kCf));
  EXPECT_TRUE(flag(rflags::kZf));
}

TEST_F(CpuIntops, Bmi2) {
  s.cpu.gpr[kRcx] = 0xFFFFFFFF;
  s.cpu.gpr[kRdx] = 12;
  ASSERT_EQ(s.run({0xC4, 0xE2, 0x68, 0xF5, 0xC1}), kNone);  // bzhi eax, ecx, edx
  EXPECT_EQ(s.cpu.gpr[kRax], 0xFFFu);
  EXPECT_FALSE(flag(rflags::kCf));
  s.cpu.gpr[kRdx] = 40;
  ASSERT_EQ(s.run({0xC4, 0xE2, 0x68, 0xF5, 0xC1}), kNone);
  EXPECT_EQ(s.cpu.gpr[kRax], 0xFFFFFFFFu);
  EXPECT_TRUE(flag(rflags::kCf));
  s.cpu.gpr[kRdx] = 0x80000000;
  s.cpu.set_rflags(rflags::kFixed);
  ASSERT_EQ(s.run({0xC4, 0xE2, 0x73, 0xF6, 0xC2}), kNone);  // mulx eax, ecx, edx
  EXPECT_EQ(s.cpu.gpr[kRax], 0x40000000u);                  // high half
  EXPECT_EQ(s.cpu.gpr[kRcx], 0u);                           // low half
  EXPECT_EQ(s.cpu.get_rflags() & rflags::kArith, 0u);       // no flags
  s.cpu.gpr[kRcx] = 0b101;
  s.cpu.gpr[kRdx] = 0xF0;
  ASSERT_EQ(s.run({0xC4, 0xE2, 0x73, 0xF5, 0xC2}), kNone);  // pdep eax, ecx, edx
  EXPECT_EQ(s.cpu.gpr[kRax], 0x50u);
  s.cpu.gpr[kRcx] = 0xA5;
  ASSERT_EQ(s.run({0xC4, 0xE2, 0x72, 0xF5, 0xC2}), kNone);  // pext eax, ecx, edx
  EXPECT_EQ(s.cpu.gpr[kRax], 0xAu);
  s.cpu.gpr[kRcx] = 0x80000001;
  ASSERT_EQ(s.run({0xC4, 0xE3, 0x7B, 0xF0, 0xC1, 0x04}), kNone);  // rorx eax, ecx, 4
  EXPECT_EQ(s.cpu.gpr[kRax], 0x18000000u);
  s.cpu.gpr[kRdx] = 33;                                     // masked to 1
  ASSERT_EQ(s.run({0xC4, 0xE2, 0x6A, 0xF7, 0xC1}), kNone);  // sarx eax, ecx, edx
  EXPECT_EQ(s.cpu.gpr[kRax], 0xC0000000u);
  ASSERT_EQ(s.run({0xC4, 0xE2, 0x69, 0xF7, 0xC1}), kNone);  // shlx eax, ecx, edx
  EXPECT_EQ(s.cpu.gpr[kRax], 2u);
  ASSERT_EQ(s.run({0xC4, 0xE2, 0x6B, 0xF7, 0xC1}), kNone);  // shrx eax, ecx, edx
  EXPECT_EQ(s.cpu.gpr[kRax], 0x40000000u);
}

TEST_F(CpuIntops, AdcxAndAdoxUseTheirOwnCarry) {
  s.cpu.gpr[kRax] = 0xFFFFFFFF;
  s.cpu.gpr[kRcx] = 0;
  s.cpu.set_rflags(rflags::kCf | rflags::kZf | rflags::kFixed);
  ASSERT_EQ(s.run({0x66, 0x0F, 0x38, 0xF6, 0xC1}), kNone);  // adcx eax, ecx
  EXPECT_EQ(s.cpu.gpr[kRax], 0u);
  EXPECT_TRUE(flag(rflags::kCf));
  EXPECT_TRUE(flag(rflags::kZf));  // untouched
  s.cpu.set_rflags(rflags::kOf | rflags::kFixed);
  s.cpu.gpr[kRax] = 1;
  ASSERT_EQ(s.run({0xF3, 0x0F, 0x38, 0xF6, 0xC1}), kNone);  // adox eax, ecx
  EXPECT_EQ(s.cpu.gpr[kRax], 2u);
  EXPECT_FALSE(flag(rflags::kOf));
  EXPECT_FALSE(flag(rflags::kCf));
}

TEST_F(CpuIntops, SysenterAndSysexit) {
  EXPECT_EQ(s.run({0x0F, 0x34}), static_cast<int>(kGp));  // SYSENTER_CS is 0
  s.cpu.sysenter_cs = 0x10;
  s.cpu.sysenter_esp = 0x9000;
  s.cpu.sysenter_eip = 0x3000;
  s.cpu.set_rflags(rflags::kIf | rflags::kFixed);
  ASSERT_EQ(s.run({0x0F, 0x34}), kNone);
  EXPECT_EQ(s.cpu.rip, 0x3000u);
  EXPECT_EQ(s.cpu.gpr[kRsp], 0x9000u);
  EXPECT_EQ(s.cpu.seg[kCs].selector, 0x10);
  EXPECT_TRUE(s.cpu.seg[kCs].l);
  EXPECT_EQ(s.cpu.seg[kSs].selector, 0x18);
  EXPECT_FALSE(s.cpu.flag_if());
  // SYSEXIT (REX.W) to 64-bit user code at RDX with RSP = RCX.
  s.cpu.gpr[kRdx] = 0x2100;
  s.cpu.gpr[kRcx] = 0x7000;
  ASSERT_EQ(s.run({0x48, 0x0F, 0x35}), kNone);
  EXPECT_EQ(s.cpu.rip, 0x2100u);
  EXPECT_EQ(s.cpu.gpr[kRsp], 0x7000u);
  EXPECT_EQ(s.cpu.cpl(), 3u);
  EXPECT_EQ(s.cpu.seg[kCs].selector, 0x33);
  EXPECT_EQ(s.cpu.seg[kSs].selector, 0x3B);
  EXPECT_TRUE(s.cpu.seg[kCs].l);
  // At CPL 3 SYSEXIT faults.
  EXPECT_EQ(s.run({0x48, 0x0F, 0x35}), static_cast<int>(kGp));
}

TEST_F(CpuIntops, SysexitRejectsANonCanonicalTarget) {
  s.cpu.sysenter_cs = 0x10;
  s.cpu.gpr[kRdx] = 0x0000800000000000ull;
  EXPECT_EQ(s.run({0x48, 0x0F, 0x35}), static_cast<int>(kGp));
  EXPECT_EQ(s.cpu.cpl(), 0u);
}

TEST_F(CpuIntops, RdrandAndRdseedAreUndefined) {
  EXPECT_EQ(s.run({0x0F, 0xC7, 0xF0}), static_cast<int>(kUd));  // rdrand eax
  EXPECT_EQ(s.run({0x0F, 0xC7, 0xF8}), static_cast<int>(kUd));  // rdseed eax
}

TEST_F(CpuIntops, LockIsUndefinedWhereNotAllowed) {
  EXPECT_EQ(s.run({0xF0, 0x01, 0xC8}), static_cast<int>(kUd));        // lock add eax, ecx
  EXPECT_EQ(s.run({0xF0, 0x90}), static_cast<int>(kUd));              // lock nop
  EXPECT_EQ(s.run({0xF0, 0x8B, 0x03}), static_cast<int>(kUd));        // lock mov eax, [rbx]
  EXPECT_EQ(s.run({0xF0, 0x0F, 0xA2}), static_cast<int>(kUd));        // lock cpuid
  EXPECT_EQ(s.run({0xF0, 0x0F, 0xA3, 0x03}), static_cast<int>(kUd));  // lock bt [rbx], eax
  EXPECT_EQ(s.run({0xF0, 0x87, 0xC8}), static_cast<int>(kUd));        // lock xchg eax, ecx
  EXPECT_EQ(s.run({0xF0, 0xA4}), static_cast<int>(kUd));              // lock movsb
  EXPECT_EQ(s.run({0xF0, 0x0F, 0xB1, 0xC8}), static_cast<int>(kUd));  // lock cmpxchg eax, ecx
  s.bus.put_obj<uint32_t>(StepCpu::kData, ~1u);
  EXPECT_EQ(s.run({0xF0, 0xF7, 0x13}), kNone);  // lock not dword [rbx]
  s.cpu.gpr[kRax] = 2;
  ASSERT_EQ(s.run({0xF0, 0x01, 0x03}), kNone);  // lock add [rbx], eax
  EXPECT_EQ(s.bus.get<uint32_t>(StepCpu::kData), 3u);
}

TEST_F(CpuIntops, NopLikeInstructionsDoNothing) {
  s.cpu.gpr[kRax] = StepCpu::kData;
  for (auto bytes : std::initializer_list<std::initializer_list<uint8_t>>{
           {0xF3, 0x0F, 0x1E, 0xFA},  // endbr64
           {0xF3, 0x0F, 0x1E, 0xFB},  // endbr32
           {0x0F, 0x1F, 0x00},        // nop dword [rax]
           {0x0F, 0x1F, 0x44, 0x00, 0x00},
           {0x0F, 0xAE, 0x3B},  // clflush [rbx]
           {0x0F, 0xAE, 0xE8},  // lfence
           {0x0F, 0xAE, 0xF0},  // mfence
           {0x0F, 0xAE, 0xF8},  // sfence
           {0xF3, 0x90},        // pause
           {0x0F, 0x18, 0x0B},  // prefetcht0 [rbx]
           {0x0F, 0x18, 0x03},  // prefetchnta [rbx]
           {0x0F, 0x0D, 0x0B},  // prefetchw [rbx]
       }) {
    EXPECT_EQ(s.run(bytes), kNone) << int(bytes.begin()[1]) << " " << int(bytes.begin()[2]);
    EXPECT_EQ(s.cpu.gpr[kRax], StepCpu::kData);
  }
}

TEST(CpuIntopsCpuid, AdvertisesWhatIsImplemented) {
  CpuidResult l1 = cpuid(1, 0, 0);
  EXPECT_TRUE(l1.edx & (1u << 8));    // CX8
  EXPECT_TRUE(l1.edx & (1u << 11));   // SEP
  EXPECT_TRUE(l1.ecx & (1u << 13));   // CX16
  EXPECT_TRUE(l1.ecx & (1u << 22));   // MOVBE
  EXPECT_TRUE(l1.ecx & (1u << 23));   // POPCNT
  EXPECT_FALSE(l1.ecx & (1u << 30));  // RDRAND
  CpuidResult l7 = cpuid(7, 0, 0);
  EXPECT_EQ(l7.ebx & ((1u << 3) | (1u << 8) | (1u << 19)), (1u << 3) | (1u << 8) | (1u << 19));
  EXPECT_FALSE(l7.ebx & (1u << 18));  // RDSEED
  EXPECT_EQ(cpuid(7, 1, 0).ebx, 0u);
  EXPECT_TRUE(cpuid(0x80000001, 0, 0).ecx & (1u << 5));  // ABM
}

}  // namespace
}  // namespace vessel::cpu

// Which optional user-mode instruction sets the host CPU has (CPUID), so the
// catalogue only offers forms the native side can run.
#pragma once

namespace vessel::difftest {

struct HostFeatures {
  bool popcnt = false;  // CPUID.1:ECX[23]
  bool cx16 = false;    // CPUID.1:ECX[13] (CMPXCHG16B)
  bool movbe = false;   // CPUID.1:ECX[22]
  bool lzcnt = false;   // CPUID.80000001H:ECX[5] (ABM)
  bool bmi1 = false;    // CPUID.(EAX=7,ECX=0):EBX[3]
  bool bmi2 = false;    // CPUID.(EAX=7,ECX=0):EBX[8]
  bool adx = false;     // CPUID.(EAX=7,ECX=0):EBX[19]
  bool lahf = false;    // CPUID.80000001H:ECX[0] (LAHF/SAHF in 64-bit mode)
  bool sse3 = false;    // CPUID.1:ECX[0]
  bool ssse3 = false;   // CPUID.1:ECX[9]
  bool sse41 = false;   // CPUID.1:ECX[19]
  bool sse42 = false;   // CPUID.1:ECX[20]
};

HostFeatures detect_host_features();

}  // namespace vessel::difftest

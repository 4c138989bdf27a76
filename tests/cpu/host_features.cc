#include "host_features.h"

#include <cpuid.h>

namespace vessel::difftest {

HostFeatures detect_host_features() {
  HostFeatures f;
  unsigned a, b, c, d;
  if (__get_cpuid(1, &a, &b, &c, &d)) {
    f.popcnt = (c >> 23) & 1;
    f.movbe = (c >> 22) & 1;
    f.cx16 = (c >> 13) & 1;
    f.sse3 = c & 1;
    f.ssse3 = (c >> 9) & 1;
    f.sse41 = (c >> 19) & 1;
    f.sse42 = (c >> 20) & 1;
  }
  if (__get_cpuid(0x80000001, &a, &b, &c, &d)) {
    f.lzcnt = (c >> 5) & 1;
    f.lahf = c & 1;
  }
  if (__get_cpuid_max(0, nullptr) >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    f.bmi1 = (b >> 3) & 1;
    f.bmi2 = (b >> 8) & 1;
    f.adx = (b >> 19) & 1;
  }
  return f;
}

}  // namespace vessel::difftest

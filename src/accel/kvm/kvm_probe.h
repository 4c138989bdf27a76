// How fast KVM runs guest code on this host: a throw-away VM spins a tight
// loop for about a time budget and the instructions it retired are counted.
// A nested /dev/kvm can be orders of magnitude slower than the host, slow
// enough that the software CPU wins; `--accel auto` and `--probe-accel` ask
// this.
#pragma once

#include <chrono>
#include <string>

#include "base/error.h"

namespace vessel {

struct KvmProbe {
  bool usable = false;                 // a VM could be made and ran the loop
  double instructions_per_second = 0;  // when usable
  std::string reason;                  // when not usable: why
};

// Runs the probe for about `budget` (at least 10 ms; total time stays under
// budget + a few seconds even if KVM misbehaves). KVM being absent or broken
// is a KvmProbe with usable == false, not an Error; an Error means the probe
// itself could not be run (a bad budget).
Expected<KvmProbe> probe_kvm(std::chrono::milliseconds budget);

// Guest instructions per second above which KVM counts as fast.
inline constexpr double kKvmFastInstructionsPerSecond = 100e6;
bool kvm_is_fast(const KvmProbe& probe);

// One line for `vessel --probe-accel`: "kvm: fast (1234.5 M instructions/s)",
// "kvm: slow (2.5 M instructions/s)" or "kvm: unavailable (REASON)".
std::string describe_kvm_probe(const KvmProbe& probe);

}  // namespace vessel

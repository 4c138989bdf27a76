// probe_kvm() on this host: bounded in time, and a usable result when
// /dev/kvm works (skipped without it); the probe's one-line description.
#include <gtest/gtest.h>

#include <chrono>

#include "accel/kvm/kvm_probe.h"

namespace vessel {
namespace {

TEST(KvmProbeText, DescribesEachOutcome) {
  EXPECT_EQ(describe_kvm_probe(KvmProbe{true, 2.5e6, {}}), "kvm: slow (2.5 M instructions/s)");
  EXPECT_EQ(describe_kvm_probe(KvmProbe{true, 1234.5e6, {}}),
            "kvm: fast (1234.5 M instructions/s)");
  EXPECT_EQ(describe_kvm_probe(KvmProbe{false, 0, "cannot open /dev/kvm: No such file"}),
            "kvm: unavailable (cannot open /dev/kvm: No such file)");
  EXPECT_FALSE(kvm_is_fast(KvmProbe{true, 99e6, {}}));
  EXPECT_TRUE(kvm_is_fast(KvmProbe{true, 100e6, {}}));
  EXPECT_FALSE(kvm_is_fast(KvmProbe{false, 1e12, "broken"}));
}

TEST(KvmProbe, RejectsSillyBudgets) {
  EXPECT_FALSE(probe_kvm(std::chrono::milliseconds(0)).ok());
  EXPECT_FALSE(probe_kvm(std::chrono::hours(1)).ok());
}

TEST(KvmProbe, MeasuresWithinItsBudget) {
  auto start = std::chrono::steady_clock::now();
  auto probe = probe_kvm(std::chrono::milliseconds(100));
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(probe.ok()) << probe.error().message;
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  if (!probe->usable && probe->reason.find("/dev/kvm") != std::string::npos) {
    GTEST_SKIP() << probe->reason;
  }
  ASSERT_TRUE(probe->usable) << probe->reason;
  EXPECT_GT(probe->instructions_per_second, 1e4);
  EXPECT_GE(elapsed, std::chrono::milliseconds(100));
  std::string line = describe_kvm_probe(*probe);
  EXPECT_EQ(line.rfind("kvm: ", 0), 0u);
  RecordProperty("kvm_probe", line);
  std::printf("%s\n", line.c_str());
}

}  // namespace
}  // namespace vessel

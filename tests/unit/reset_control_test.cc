#include "devices/reset_control.h"

#include <gtest/gtest.h>

#include "device_fakes.h"

namespace vessel {
namespace {

using testing::FakePowerControl;
using testing::read8;
using testing::write8;

TEST(ResetControl, LinuxSequenceResets) {
  FakePowerControl power;
  ResetControl cf9(power);
  EXPECT_EQ(read8(cf9, 0), 0x00);
  write8(cf9, 0, 0x02);  // SYS_RST: select hard reset, nothing yet
  EXPECT_TRUE(power.requests.empty());
  EXPECT_EQ(read8(cf9, 0), 0x02);
  write8(cf9, 0, 0x06);  // + RST_CPU
  ASSERT_EQ(power.requests.size(), 1u);
  EXPECT_EQ(power.requests[0].reason, StopReason::kReset);
  EXPECT_EQ(read8(cf9, 0), 0x06);
}

TEST(ResetControl, SoftResetAlsoResetsAndOtherBitsDoNot) {
  FakePowerControl power;
  ResetControl cf9(power);
  write8(cf9, 0, 0x0A);  // FULL_RST | SYS_RST without RST_CPU
  write8(cf9, 0, 0x01);
  EXPECT_TRUE(power.requests.empty());
  write8(cf9, 0, 0x04);  // RST_CPU alone: a VM has no lighter reset
  ASSERT_EQ(power.requests.size(), 1u);
  EXPECT_EQ(power.requests[0].reason, StopReason::kReset);
}

}  // namespace
}  // namespace vessel

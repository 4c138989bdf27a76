#include "devices/debug_exit.h"

#include <gtest/gtest.h>

#include "base/pc_layout.h"
#include "bus/io_bus.h"
#include "device_fakes.h"

namespace vessel {
namespace {

using testing::FakePowerControl;

TEST(DebugExit, StatusIsValueShiftedOrOne) {
  FakePowerControl power;
  DebugExit dev(power);
  testing::write8(dev, 0, 0x00);
  testing::write8(dev, 0, 0x10);
  const uint8_t wide[4] = {0x34, 0x12, 0, 0};
  dev.write(0, wide);
  const uint8_t half[2] = {0x7F, 0x00};
  dev.write(0, half);
  ASSERT_EQ(power.requests.size(), 4u);
  EXPECT_EQ(power.requests[0], (FakePowerControl::Request{StopReason::kDebugExit, 1}));
  EXPECT_EQ(power.requests[1], (FakePowerControl::Request{StopReason::kDebugExit, 0x21}));
  EXPECT_EQ(power.requests[2], (FakePowerControl::Request{StopReason::kDebugExit, 0x2469}));
  EXPECT_EQ(power.requests[3], (FakePowerControl::Request{StopReason::kDebugExit, 0xFF}));
  EXPECT_EQ(DebugExit::exit_status_for(0xFFFFFFFF), -1);  // wraps, no overflow trap
}

TEST(DebugExit, OnlyTheFirstPortCountsAndReadsAreOnes) {
  FakePowerControl power;
  auto dev = std::make_shared<DebugExit>(power);
  IoBus bus;
  ASSERT_TRUE(bus.add_pio(layout::kPortDebugExit, DebugExit::kPortCount, dev).ok());
  const uint8_t b = 3;
  bus.pio_write(layout::kPortDebugExit + 1, std::span<const uint8_t>(&b, 1));
  EXPECT_TRUE(power.requests.empty());
  uint8_t r[4] = {};
  bus.pio_read(layout::kPortDebugExit, r);
  EXPECT_EQ(r[0], 0xFF);
  EXPECT_EQ(r[3], 0xFF);
  const uint8_t w[4] = {3, 0, 0, 0};
  bus.pio_write(layout::kPortDebugExit, w);
  ASSERT_EQ(power.requests.size(), 1u);
  EXPECT_EQ(power.requests[0].exit_status, 7);
}

}  // namespace
}  // namespace vessel

#include "devices/i8042.h"

#include <gtest/gtest.h>

#include "base/pc_layout.h"
#include "bus/io_bus.h"
#include "device_fakes.h"

namespace vessel {
namespace {

using testing::FakePowerControl;

class I8042Test : public ::testing::Test {
 protected:
  FakePowerControl power;
  std::shared_ptr<I8042> kbc = std::make_shared<I8042>(power);

  // What Linux's i8042_command does for a command with one reply byte.
  uint8_t command_with_reply(uint8_t command) {
    kbc->write_command(command);
    EXPECT_TRUE(kbc->read_status() & 0x01) << "no reply to " << int{command};
    return kbc->read_data();
  }
};

TEST_F(I8042Test, InitialStatusIsIdle) {
  uint8_t status = kbc->read_status();
  EXPECT_EQ(status & 0x01, 0);     // nothing to read: Linux's flush ends at once
  EXPECT_EQ(status & 0x02, 0);     // never busy
  EXPECT_EQ(status & 0x10, 0x10);  // no keylock
  EXPECT_EQ(kbc->read_data(), 0);  // nothing queued: 0
  EXPECT_TRUE(power.requests.empty());
}

TEST_F(I8042Test, SelfTestAndInterfaceTest) {
  EXPECT_EQ(command_with_reply(0xAA), 0x55);
  EXPECT_EQ(kbc->read_status() & 0x01, 0);     // reply consumed
  EXPECT_EQ(kbc->read_data(), 0x55);           // reads repeat the last value
  EXPECT_EQ(kbc->read_status() & 0x04, 0x04);  // system flag after self test
  EXPECT_EQ(command_with_reply(0xAB), 0x00);
  EXPECT_TRUE(power.requests.empty());
}

TEST_F(I8042Test, CommandByteReadWriteAndEnableBits) {
  uint8_t ccb = command_with_reply(0x20);
  EXPECT_EQ(ccb & 0x04, 0x04);
  EXPECT_EQ(kbc->read_status() & 0x08, 0x08);  // last write was a command
  kbc->write_command(0x60);
  kbc->write_data(0x30);
  EXPECT_EQ(kbc->read_status() & 0x08, 0);
  EXPECT_EQ(command_with_reply(0x20), 0x30);
  EXPECT_EQ(kbc->read_status() & 0x04, 0);  // system flag follows the command byte
  kbc->write_command(0xAE);
  EXPECT_EQ(command_with_reply(0x20), 0x20);
  kbc->write_command(0xA8);
  EXPECT_EQ(command_with_reply(0x20), 0x00);
  kbc->write_command(0xAD);
  kbc->write_command(0xA7);
  EXPECT_EQ(command_with_reply(0x20), 0x30);
  // Other internal RAM bytes.
  kbc->write_command(0x65);
  kbc->write_data(0x9C);
  EXPECT_EQ(command_with_reply(0x25), 0x9C);
  EXPECT_EQ(command_with_reply(0x20), 0x30);
}

TEST_F(I8042Test, NoAuxChannel) {
  // Linux's AUX loop test gets its byte back but not flagged as AUX data.
  kbc->write_command(0xD3);
  kbc->write_data(0x5A);
  uint8_t status = kbc->read_status();
  EXPECT_EQ(status & 0x01, 0x01);
  EXPECT_EQ(status & 0x20, 0);
  EXPECT_EQ(kbc->read_data(), 0x5A);
  EXPECT_EQ(command_with_reply(0xA9), 0x01);
  // Bytes for the absent devices vanish.
  kbc->write_data(0xF2);
  kbc->write_command(0xD4);
  kbc->write_data(0xF2);
  EXPECT_EQ(kbc->read_status() & 0x01, 0);
}

TEST_F(I8042Test, PulseResetLine) {
  kbc->write_command(0xFF);  // pulses nothing
  EXPECT_TRUE(power.requests.empty());
  kbc->write_command(0xFE);
  ASSERT_EQ(power.requests.size(), 1u);
  EXPECT_EQ(power.requests[0].reason, StopReason::kReset);
}

TEST_F(I8042Test, OutputPortWriteResetsWhenBit0Clear) {
  kbc->write_command(0xD1);
  kbc->write_data(0x03);  // A20 on, reset line high: nothing happens
  EXPECT_TRUE(power.requests.empty());
  EXPECT_EQ(command_with_reply(0xD0), 0x03);
  kbc->write_command(0xD1);
  kbc->write_data(0x02);
  ASSERT_EQ(power.requests.size(), 1u);
  EXPECT_EQ(power.requests[0].reason, StopReason::kReset);
}

TEST_F(I8042Test, PortsOnTheBus) {
  IoBus bus;
  ASSERT_TRUE(bus.add_pio(layout::kPortI8042Data, 1, I8042::data_port(kbc)).ok());
  ASSERT_TRUE(bus.add_pio(layout::kPortI8042Cmd, 1, I8042::command_port(kbc)).ok());
  const uint8_t self_test = 0xAA;
  bus.pio_write(layout::kPortI8042Cmd, std::span<const uint8_t>(&self_test, 1));
  uint8_t v = 0;
  bus.pio_read(layout::kPortI8042Cmd, std::span<uint8_t>(&v, 1));
  EXPECT_EQ(v & 0x01, 0x01);
  bus.pio_read(layout::kPortI8042Data, std::span<uint8_t>(&v, 1));
  EXPECT_EQ(v, 0x55);
  const uint8_t reset = 0xFE;
  bus.pio_write(layout::kPortI8042Cmd, std::span<const uint8_t>(&reset, 1));
  EXPECT_EQ(power.requests.size(), 1u);
  EXPECT_EQ(bus.unclaimed_accesses(), 0u);
}

}  // namespace
}  // namespace vessel

#include "devices/cmos.h"

#include <gtest/gtest.h>

#include "device_fakes.h"

namespace vessel {
namespace {

using testing::read8;
using testing::write8;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kThu20240229_134507 = 1709214307;  // 2024-02-29 13:45:07 UTC, a Thursday
constexpr int64_t kFri20310704_003000 = 1940891400;  // 2031-07-04 00:30:00 UTC, a Friday

class CmosTest : public ::testing::Test {
 protected:
  int64_t now_ns = kThu20240229_134507 * kSecond;
  Cmos cmos{[this] { return now_ns; }};

  uint8_t reg(uint8_t index) {
    write8(cmos, 0, index);
    return read8(cmos, 1);
  }
  void set_reg(uint8_t index, uint8_t value) {
    write8(cmos, 0, index);
    write8(cmos, 1, value);
  }
};

TEST_F(CmosTest, DefaultsAreBcd24Hour) {
  EXPECT_EQ(reg(0x0A), 0x26);
  EXPECT_EQ(reg(0x0B), 0x02);
  EXPECT_EQ(reg(0x0D), 0x80);
}

TEST_F(CmosTest, TimeInBcd) {
  EXPECT_EQ(reg(0x00), 0x07);
  EXPECT_EQ(reg(0x02), 0x45);
  EXPECT_EQ(reg(0x04), 0x13);
  EXPECT_EQ(reg(0x06), 0x05);  // Thursday (Sunday = 1)
  EXPECT_EQ(reg(0x07), 0x29);
  EXPECT_EQ(reg(0x08), 0x02);
  EXPECT_EQ(reg(0x09), 0x24);
  EXPECT_EQ(reg(0x32), 0x20);  // century
}

TEST_F(CmosTest, TimeInBinaryAnd12Hour) {
  set_reg(0x0B, 0x06);  // binary, 24-hour
  EXPECT_EQ(reg(0x00), 7);
  EXPECT_EQ(reg(0x02), 45);
  EXPECT_EQ(reg(0x04), 13);
  EXPECT_EQ(reg(0x07), 29);
  EXPECT_EQ(reg(0x09), 24);
  EXPECT_EQ(reg(0x32), 20);
  set_reg(0x0B, 0x04);  // binary, 12-hour: 1 PM
  EXPECT_EQ(reg(0x04), 0x80 | 1);
  set_reg(0x0B, 0x00);  // BCD, 12-hour
  EXPECT_EQ(reg(0x04), 0x81);
  now_ns = kFri20310704_003000 * kSecond;  // 00:30 is 12 AM
  EXPECT_EQ(reg(0x04), 0x12);
  EXPECT_EQ(reg(0x06), 0x06);
}

TEST_F(CmosTest, FollowsTheClock) {
  now_ns += 53 * kSecond;  // 13:46:00
  EXPECT_EQ(reg(0x00), 0x00);
  EXPECT_EQ(reg(0x02), 0x46);
  now_ns = 946684799 * kSecond;  // 1999-12-31 23:59:59
  EXPECT_EQ(reg(0x09), 0x99);
  EXPECT_EQ(reg(0x32), 0x19);
  now_ns += kSecond;
  EXPECT_EQ(reg(0x09), 0x00);
  EXPECT_EQ(reg(0x32), 0x20);
  EXPECT_EQ(reg(0x08), 0x01);
}

TEST_F(CmosTest, NmiBitOfIndexIsIgnored) {
  write8(cmos, 0, 0x80 | 0x04);
  EXPECT_EQ(read8(cmos, 1), 0x13);
  write8(cmos, 0, 0x80 | 0x40);
  write8(cmos, 1, 0x5A);
  EXPECT_EQ(reg(0x40), 0x5A);
  EXPECT_EQ(read8(cmos, 0), 0xFF);  // index port is write-only
}

TEST_F(CmosTest, RamAndAlarmsAreStored) {
  for (int i = 0x0E; i < 0x80; i++) {
    if (i == 0x32) continue;
    set_reg(static_cast<uint8_t>(i), static_cast<uint8_t>(i ^ 0xA5));
  }
  set_reg(0x01, 0x30);
  set_reg(0x03, 0xC0);
  set_reg(0x05, 0x07);
  for (int i = 0x0E; i < 0x80; i++) {
    if (i == 0x32) continue;
    EXPECT_EQ(reg(static_cast<uint8_t>(i)), i ^ 0xA5) << i;
  }
  EXPECT_EQ(reg(0x01), 0x30);
  EXPECT_EQ(reg(0x03), 0xC0);
  EXPECT_EQ(reg(0x05), 0x07);
  EXPECT_EQ(reg(0x00), 0x07);  // the alarms did not touch the time
}

TEST_F(CmosTest, RegisterCClearsOnRead) {
  EXPECT_EQ(reg(0x0C), 0x00);
  now_ns += kSecond;
  EXPECT_EQ(reg(0x0C), 0x10);  // an update cycle ended
  EXPECT_EQ(reg(0x0C), 0x00);  // cleared by the read
  set_reg(0x0B, 0x02 | 0x10);  // UIE
  now_ns += 2 * kSecond;
  EXPECT_EQ(reg(0x0C), 0x90);  // IRQF | UF
  EXPECT_EQ(reg(0x0C), 0x00);
  set_reg(0x0C, 0xFF);  // read-only
  set_reg(0x0D, 0x00);
  EXPECT_EQ(reg(0x0C), 0x00);
  EXPECT_EQ(reg(0x0D), 0x80);
}

TEST_F(CmosTest, UipOnlyJustBeforeTheUpdate) {
  EXPECT_EQ(reg(0x0A) & 0x80, 0);
  now_ns += kSecond - 100'000;  // 100 us before the next second
  EXPECT_EQ(reg(0x0A), 0x80 | 0x26);
  now_ns += 100'000;
  EXPECT_EQ(reg(0x0A), 0x26);
  set_reg(0x0A, 0xA3);  // UIP is read-only
  EXPECT_EQ(reg(0x0A), 0x23);
}

TEST_F(CmosTest, SettingTheClockSticks) {
  set_reg(0x0B, 0x82 | 0x10);  // SET (UIE asked for too)
  EXPECT_EQ(reg(0x0B), 0x82);  // SET clears UIE
  set_reg(0x00, 0x00);
  set_reg(0x02, 0x30);
  set_reg(0x04, 0x00);
  set_reg(0x07, 0x04);
  set_reg(0x08, 0x07);
  set_reg(0x09, 0x31);
  now_ns += 10 * kSecond;  // frozen while SET
  EXPECT_EQ(reg(0x00), 0x00);
  EXPECT_EQ(reg(0x02), 0x30);
  EXPECT_EQ(reg(0x0C), 0x00);  // no updates while SET
  set_reg(0x0B, 0x02);         // run
  EXPECT_EQ(reg(0x09), 0x31);
  EXPECT_EQ(reg(0x32), 0x20);
  EXPECT_EQ(reg(0x08), 0x07);
  EXPECT_EQ(reg(0x07), 0x04);
  EXPECT_EQ(reg(0x06), 0x06);  // Friday, from the date
  EXPECT_EQ(reg(0x02), 0x30);
  now_ns += 5 * kSecond;
  EXPECT_EQ(reg(0x00), 0x05);
}

TEST_F(CmosTest, WritesWithoutSetApplyAtOnce) {
  set_reg(0x02, 0x10);  // minutes := 10
  EXPECT_EQ(reg(0x02), 0x10);
  EXPECT_EQ(reg(0x04), 0x13);
  now_ns += 60 * kSecond;
  EXPECT_EQ(reg(0x02), 0x11);
  set_reg(0x32, 0x21);  // century := 21
  EXPECT_EQ(reg(0x32), 0x21);
  EXPECT_EQ(reg(0x09), 0x24);
}

TEST_F(CmosTest, HostileValuesDoNotBreakIt) {
  set_reg(0x0B, 0x80 | 0x02);
  for (uint8_t index : {0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32}) set_reg(index, 0xFF);
  set_reg(0x0B, 0x02);
  // Whatever date that normalised to, the registers hold valid BCD.
  for (uint8_t index : {0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32}) {
    uint8_t v = reg(index);
    EXPECT_LE(v & 0x0F, 9) << int{index};
    EXPECT_LE(v >> 4, 9) << int{index};
  }
}

TEST_F(CmosTest, WideAccessWritesIndexThenData) {
  const uint8_t both[2] = {0x50, 0x77};
  cmos.write(0, both);
  EXPECT_EQ(reg(0x50), 0x77);
}

}  // namespace
}  // namespace vessel

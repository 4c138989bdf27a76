// The IOAPIC, from the 82093AA datasheet: the indirect register window, the
// version and ID registers, redirection entries, edge and level delivery,
// Remote IRR and EOI, masking.
#include "irq/ioapic.h"

#include <gtest/gtest.h>

#include <vector>

#include "devices/register_bytes.h"

namespace vessel {
namespace {

class IoapicTest : public ::testing::Test {
 protected:
  IoapicTest() : ioapic(mu, 4, [this](const ApicMessage& m) { sent.push_back(m); }) {}

  void write32(uint64_t offset, uint32_t value) {
    uint8_t b[4];
    store_le(b, value);
    ioapic.write(offset, b);
  }
  uint32_t read32(uint64_t offset) {
    uint8_t b[4];
    ioapic.read(offset, b);
    return static_cast<uint32_t>(load_le(b));
  }
  void write_reg(uint8_t index, uint32_t value) {
    write32(Ioapic::kRegSelect, index);
    write32(Ioapic::kRegWindow, value);
  }
  uint32_t read_reg(uint8_t index) {
    write32(Ioapic::kRegSelect, index);
    return read32(Ioapic::kRegWindow);
  }
  void program(uint32_t pin, uint64_t entry) {
    write_reg(static_cast<uint8_t>(0x10 + 2 * pin), static_cast<uint32_t>(entry));
    write_reg(static_cast<uint8_t>(0x11 + 2 * pin), static_cast<uint32_t>(entry >> 32));
  }
  uint64_t entry(uint32_t pin) {
    return read_reg(static_cast<uint8_t>(0x10 + 2 * pin)) |
           (uint64_t{read_reg(static_cast<uint8_t>(0x11 + 2 * pin))} << 32);
  }
  void pin(uint32_t p, bool level) {
    std::lock_guard lock(mu);
    ioapic.set_pin_locked(p, level);
  }
  void eoi(uint8_t vector) {
    std::lock_guard lock(mu);
    ioapic.eoi_locked(vector);
  }

  static constexpr uint64_t kLevel = 1ull << 15, kMasked = 1ull << 16, kRemoteIrr = 1ull << 14;
  std::mutex mu;
  std::vector<ApicMessage> sent;
  Ioapic ioapic;
};

TEST_F(IoapicTest, VersionIdAndArbitrationRegisters) {
  EXPECT_EQ(read_reg(0x01), 0x0017'0011u);  // 24 entries, version 0x11
  EXPECT_EQ(read_reg(0x00), 4u << 24);
  EXPECT_EQ(read_reg(0x02), 4u << 24);
  write_reg(0x00, 0x0700'0000);
  EXPECT_EQ(read_reg(0x00), 0x0700'0000u);
  write_reg(0x01, 0);  // read-only
  EXPECT_EQ(read_reg(0x01), 0x0017'0011u);
  EXPECT_EQ(read32(Ioapic::kRegSelect), 0x01u);
}

TEST_F(IoapicTest, PinsAreMaskedAtReset) {
  for (uint32_t p = 0; p < Ioapic::kPins; p++) EXPECT_EQ(entry(p), kMasked) << p;
  pin(5, true);
  EXPECT_TRUE(sent.empty());
}

TEST_F(IoapicTest, EdgePinDeliversOnRisingEdgeOnly) {
  program(4, 0x0100'0000'0000'0030ull);  // vector 0x30, fixed, physical, dest 1, edge
  pin(4, true);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].vector, 0x30);
  EXPECT_EQ(sent[0].dest, 1u);
  EXPECT_EQ(sent[0].mode, DeliveryMode::kFixed);
  EXPECT_FALSE(sent[0].logical);
  EXPECT_FALSE(sent[0].level);
  pin(4, true);  // still high: no edge
  EXPECT_EQ(sent.size(), 1u);
  pin(4, false);
  pin(4, true);
  EXPECT_EQ(sent.size(), 2u);
}

TEST_F(IoapicTest, EdgeOnMaskedPinIsLost) {
  program(4, kMasked | 0x30);
  pin(4, true);
  pin(4, false);
  program(4, 0x30);
  EXPECT_TRUE(sent.empty());
}

TEST_F(IoapicTest, LevelPinSetsRemoteIrrAndWaitsForEoi) {
  program(9, kLevel | 0x40);
  pin(9, true);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].level);
  EXPECT_TRUE(entry(9) & kRemoteIrr);
  pin(9, true);
  EXPECT_EQ(sent.size(), 1u);  // Remote IRR blocks a second message
  eoi(0x41);                   // another vector: no effect
  EXPECT_TRUE(entry(9) & kRemoteIrr);
  eoi(0x40);  // line still high: delivered again
  EXPECT_EQ(sent.size(), 2u);
  EXPECT_TRUE(entry(9) & kRemoteIrr);
  pin(9, false);
  eoi(0x40);  // lowered before the EOI: nothing more
  EXPECT_EQ(sent.size(), 2u);
  EXPECT_FALSE(entry(9) & kRemoteIrr);
}

TEST_F(IoapicTest, LevelAssertedWhileMaskedIsDeliveredOnUnmask) {
  program(11, kMasked | kLevel | 0x50);
  pin(11, true);
  EXPECT_TRUE(sent.empty());
  program(11, kLevel | 0x50);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].vector, 0x50);
}

TEST_F(IoapicTest, RemoteIrrAndDeliveryStatusAreReadOnly) {
  program(3, kLevel | kRemoteIrr | (1ull << 12) | 0x60);
  EXPECT_EQ(entry(3), kLevel | 0x60);
  program(3, 0xFFFF'FFFF'FFFF'FFFFull);
  EXPECT_EQ(entry(3), 0xFF00'0000'0001'AFFFull);  // reserved bits 55-17 stay 0
}

TEST_F(IoapicTest, DestinationModeAndDeliveryModeReachTheMessage) {
  program(20, 0x0300'0000'0000'0000ull | (1ull << 11) | (1ull << 8) | 0x70);  // logical, lowest
  pin(20, true);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].logical);
  EXPECT_EQ(sent[0].dest, 3u);
  EXPECT_EQ(sent[0].mode, DeliveryMode::kLowestPriority);
}

TEST_F(IoapicTest, NarrowAccessesActOnBytes) {
  uint8_t index = 0x01;
  ioapic.write(Ioapic::kRegSelect, std::span<const uint8_t>(&index, 1));
  uint8_t b = 0;
  ioapic.read(Ioapic::kRegWindow + 2, std::span<uint8_t>(&b, 1));
  EXPECT_EQ(b, 0x17);
}

TEST_F(IoapicTest, BadRegistersAndPinsAreHarmless) {
  write_reg(0x40, 0xFFFF'FFFF);  // past the table
  EXPECT_EQ(read_reg(0x40), 0u);
  EXPECT_EQ(read_reg(0xFF), 0u);
  pin(24, true);
  pin(1000, true);
  EXPECT_TRUE(sent.empty());
}

}  // namespace
}  // namespace vessel

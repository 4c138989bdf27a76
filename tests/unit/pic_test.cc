// The 8259A pair, from the 8259A datasheet: initialisation (ICW1-4), OCW1
// masks, OCW2 EOI/rotation, OCW3 register reads, poll and special mask mode,
// cascade, auto-EOI, edge and level (ELCR) triggering.
#include "irq/pic8259.h"

#include <gtest/gtest.h>

#include "device_fakes.h"

namespace vessel {
namespace {

using testing::read8;
using testing::write8;

class PicTest : public ::testing::Test {
 protected:
  PicTest()
      : pic(std::make_shared<PicPair>(mu, [this] { changes++; })),
        master(PicPair::port_device(pic, PicPair::kPortMaster)),
        slave(PicPair::port_device(pic, PicPair::kPortSlave)),
        elcr(PicPair::port_device(pic, PicPair::kPortElcr)) {}

  // Linux's init_8259A: vectors 0x20 and 0x28, slave on IR2, 8086 mode.
  void init(uint8_t master_icw4 = 0x01) {
    write8(*master, 0, 0x11);
    write8(*master, 1, 0x20);
    write8(*master, 1, 0x04);
    write8(*master, 1, master_icw4);
    write8(*slave, 0, 0x11);
    write8(*slave, 1, 0x28);
    write8(*slave, 1, 0x02);
    write8(*slave, 1, 0x01);
  }
  void set(uint32_t irq, bool level) {
    std::lock_guard lock(mu);
    pic->set_irq_locked(irq, level);
  }
  bool intr() {
    std::lock_guard lock(mu);
    return pic->intr_locked();
  }
  uint8_t ack() {
    std::lock_guard lock(mu);
    return pic->acknowledge_locked();
  }
  uint8_t isr(Device& chip) {
    write8(chip, 0, 0x0B);  // OCW3: read ISR
    return read8(chip, 0);
  }
  uint8_t irr(Device& chip) {
    write8(chip, 0, 0x0A);  // OCW3: read IRR
    return read8(chip, 0);
  }
  void eoi(Device& chip) { write8(chip, 0, 0x20); }

  std::mutex mu;
  int changes = 0;
  std::shared_ptr<PicPair> pic;
  std::shared_ptr<Device> master, slave, elcr;
};

TEST_F(PicTest, AcknowledgeReturnsBasePlusIrqAndSetsIsr) {
  init();
  EXPECT_FALSE(intr());
  set(1, true);
  EXPECT_TRUE(intr());
  EXPECT_GT(changes, 0);
  EXPECT_EQ(ack(), 0x21);
  EXPECT_EQ(isr(*master), 0x02);
  EXPECT_EQ(irr(*master), 0x00);  // edge request cleared by the acknowledge
  EXPECT_FALSE(intr());
  eoi(*master);
  EXPECT_EQ(isr(*master), 0x00);
}

TEST_F(PicTest, LowerNumberedIrqHasPriorityAndInServiceBlocksLower) {
  init();
  set(3, true);
  set(1, true);
  EXPECT_EQ(ack(), 0x21);
  EXPECT_FALSE(intr());  // IRQ 3 waits behind IRQ 1 in service
  EXPECT_EQ(irr(*master), 0x08);
  eoi(*master);
  EXPECT_TRUE(intr());
  EXPECT_EQ(ack(), 0x23);
}

TEST_F(PicTest, HigherPriorityNestsOverInService) {
  init();
  set(3, true);
  EXPECT_EQ(ack(), 0x23);
  set(1, true);
  EXPECT_TRUE(intr());
  EXPECT_EQ(ack(), 0x21);
  EXPECT_EQ(isr(*master), 0x0A);
  eoi(*master);  // non-specific: the highest priority in service, IRQ 1
  EXPECT_EQ(isr(*master), 0x08);
}

TEST_F(PicTest, SpecificEoiClearsOnlyThatLevel) {
  init();
  set(3, true);
  EXPECT_EQ(ack(), 0x23);
  set(1, true);
  EXPECT_EQ(ack(), 0x21);
  write8(*master, 0, 0x63);  // specific EOI, IR3
  EXPECT_EQ(isr(*master), 0x02);
}

TEST_F(PicTest, MaskedIrqWaitsInIrr) {
  init();
  write8(*master, 1, 0x02);
  EXPECT_EQ(read8(*master, 1), 0x02);
  set(1, true);
  EXPECT_FALSE(intr());
  EXPECT_EQ(irr(*master), 0x02);
  write8(*master, 1, 0x00);
  EXPECT_TRUE(intr());
  EXPECT_EQ(ack(), 0x21);
}

TEST_F(PicTest, EdgePulseIsLatchedAndHeldLineDoesNotRetrigger) {
  init();
  set(4, true);
  set(4, false);  // a pulse before the acknowledge still interrupts
  EXPECT_TRUE(intr());
  EXPECT_EQ(ack(), 0x24);
  eoi(*master);
  set(4, true);
  EXPECT_EQ(ack(), 0x24);
  eoi(*master);
  EXPECT_FALSE(intr());  // the line stays high: no new edge
  set(4, true);
  EXPECT_FALSE(intr());
}

TEST_F(PicTest, CascadedSlaveIrqThroughIr2) {
  init();
  set(12, true);
  EXPECT_TRUE(intr());
  EXPECT_EQ(ack(), 0x2C);
  EXPECT_EQ(isr(*master), 0x04);
  EXPECT_EQ(isr(*slave), 0x10);
  eoi(*slave);
  eoi(*master);
  EXPECT_EQ(isr(*master), 0x00);
  EXPECT_EQ(isr(*slave), 0x00);
}

TEST_F(PicTest, MaskedCascadeBlocksSlave) {
  init();
  write8(*master, 1, 0x04);
  set(9, true);
  EXPECT_FALSE(intr());
  write8(*master, 1, 0x00);
  EXPECT_EQ(ack(), 0x29);
}

TEST_F(PicTest, LevelTriggeredReassertsAfterEoiWhileLineHigh) {
  init();
  write8(*elcr, 1, 0x04);  // IRQ 10 level-triggered
  EXPECT_EQ(read8(*elcr, 1), 0x04);
  set(10, true);
  EXPECT_EQ(ack(), 0x2A);
  EXPECT_FALSE(intr());
  eoi(*slave);
  eoi(*master);
  EXPECT_TRUE(intr());  // still high: requested again
  EXPECT_EQ(ack(), 0x2A);
  set(10, false);  // lowered before the EOI
  eoi(*slave);
  eoi(*master);
  EXPECT_FALSE(intr());
}

TEST_F(PicTest, LevelTriggeredRequestWithdrawnWhenLineFalls) {
  init();
  write8(*elcr, 0, 0x20);  // IRQ 5 level
  set(5, true);
  EXPECT_TRUE(intr());
  set(5, false);
  EXPECT_FALSE(intr());
  EXPECT_EQ(ack(), 0x27);  // spurious IR7
}

TEST_F(PicTest, ElcrBitsForIrq012813AreFixedEdge) {
  write8(*elcr, 0, 0xFF);
  write8(*elcr, 1, 0xFF);
  EXPECT_EQ(read8(*elcr, 0), 0xF8);
  EXPECT_EQ(read8(*elcr, 1), 0xDE);
}

TEST_F(PicTest, SpuriousAcknowledgeReturnsIr7WithoutIsr) {
  init();
  EXPECT_EQ(ack(), 0x27);
  EXPECT_EQ(isr(*master), 0x00);
}

TEST_F(PicTest, AutoEoiLeavesIsrClear) {
  init(0x03);  // ICW4: 8086 mode, auto-EOI
  set(1, true);
  EXPECT_EQ(ack(), 0x21);
  EXPECT_EQ(isr(*master), 0x00);
  set(3, true);
  EXPECT_TRUE(intr());
}

TEST_F(PicTest, PollReturnsHighestRequestAndActsAsAcknowledge) {
  init();
  write8(*master, 0, 0x0C);  // OCW3 poll
  EXPECT_EQ(read8(*master, 0), 0x00);
  set(6, true);
  set(5, true);
  write8(*master, 0, 0x0C);
  EXPECT_EQ(read8(*master, 0), 0x85);
  EXPECT_EQ(isr(*master), 0x20);
  EXPECT_EQ(irr(*master), 0x40);
}

TEST_F(PicTest, SpecialMaskModeLetsLowerPrioritiesThrough) {
  init();
  set(1, true);
  EXPECT_EQ(ack(), 0x21);
  set(3, true);
  EXPECT_FALSE(intr());
  write8(*master, 1, 0x02);  // mask IR1, which is in service
  write8(*master, 0, 0x68);  // OCW3: set special mask mode
  EXPECT_TRUE(intr());
  EXPECT_EQ(ack(), 0x23);
  write8(*master, 0, 0x48);  // reset special mask mode
  set(4, true);
  EXPECT_FALSE(intr());
}

TEST_F(PicTest, RotateOnNonSpecificEoiMakesServicedIrqLowest) {
  init();
  set(1, true);
  EXPECT_EQ(ack(), 0x21);
  write8(*master, 0, 0xA0);  // rotate on non-specific EOI
  EXPECT_EQ(isr(*master), 0x00);
  set(1, false);
  set(1, true);
  set(3, true);
  EXPECT_EQ(ack(), 0x23);  // IR1 is now the lowest priority
}

TEST_F(PicTest, SetPriorityCommand) {
  init();
  write8(*master, 0, 0xC4);  // IR4 lowest, so IR5 highest
  set(3, true);
  set(6, true);
  EXPECT_EQ(ack(), 0x26);
}

TEST_F(PicTest, Icw1ResetsMaskAndInService) {
  init();
  write8(*master, 1, 0xF0);
  set(1, true);
  EXPECT_EQ(ack(), 0x21);
  init();
  EXPECT_EQ(read8(*master, 1), 0x00);
  EXPECT_EQ(isr(*master), 0x00);
}

TEST_F(PicTest, SpecialFullyNestedLetsSlaveNest) {
  init(0x11);  // ICW4: 8086 mode, special fully nested
  set(12, true);
  EXPECT_EQ(ack(), 0x2C);
  set(9, true);  // higher priority than IRQ 12 on the same slave
  EXPECT_TRUE(intr());
  EXPECT_EQ(ack(), 0x29);
}

TEST_F(PicTest, GuestGarbageOnPortsDoesNotCrash) {
  for (int v = 0; v < 256; v++) {
    write8(*master, 0, static_cast<uint8_t>(v));
    write8(*master, 1, static_cast<uint8_t>(v));
    write8(*slave, 0, static_cast<uint8_t>(v));
    write8(*slave, 1, static_cast<uint8_t>(v));
    set(static_cast<uint32_t>(v % 20), v & 1);
    ack();
  }
  uint8_t wide[8] = {};
  master->read(0, wide);  // wider than the window: the rest reads 0xFF
  EXPECT_EQ(wide[7], 0xFF);
}

}  // namespace
}  // namespace vessel

#include "devices/serial.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "base/pc_layout.h"
#include "device_fakes.h"

namespace vessel {
namespace {

using testing::FakeIrqChip;
using testing::read8;
using testing::write8;

constexpr uint64_t RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4,
                   LSR = 5, MSR = 6, SCR = 7;
constexpr uint32_t kGsi = layout::kIrqCom1;

class SerialTest : public ::testing::Test {
 protected:
  FakeIrqChip irq;
  std::vector<uint8_t> out;
  Serial16550 uart{
      irq, kGsi, [this](std::span<const uint8_t> b) { out.insert(out.end(), b.begin(), b.end()); }};

  size_t feed(std::string_view s) {
    return uart.receive(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }
};

TEST_F(SerialTest, ResetValues) {
  EXPECT_EQ(read8(uart, IER), 0x00);
  EXPECT_EQ(read8(uart, IIR), 0x01);
  EXPECT_EQ(read8(uart, LCR), 0x00);
  EXPECT_EQ(read8(uart, MCR), 0x00);
  EXPECT_EQ(read8(uart, LSR), 0x60);
  EXPECT_EQ(read8(uart, MSR), 0xB0);  // CTS, DSR, DCD asserted, no deltas
  EXPECT_EQ(read8(uart, SCR), 0x00);
  EXPECT_TRUE(irq.calls.empty());
}

TEST_F(SerialTest, IerKeepsOnlyFourBitsAndScratchHoldsAnything) {
  write8(uart, IER, 0xFF);
  EXPECT_EQ(read8(uart, IER), 0x0F);
  write8(uart, SCR, 0xA5);
  EXPECT_EQ(read8(uart, SCR), 0xA5);
  write8(uart, MCR, 0xFF);
  EXPECT_EQ(read8(uart, MCR), 0x1F);
}

TEST_F(SerialTest, DivisorLatchBehindDlab) {
  write8(uart, IER, 0x05);
  write8(uart, LCR, 0x83);  // DLAB + 8N1
  write8(uart, DLL, 0x01);
  write8(uart, DLM, 0x02);
  EXPECT_EQ(read8(uart, DLL), 0x01);
  EXPECT_EQ(read8(uart, DLM), 0x02);
  EXPECT_TRUE(out.empty());  // a DLL write is not a transmission
  write8(uart, LCR, 0x03);
  EXPECT_EQ(read8(uart, IER), 0x05);  // IER untouched by the DLM write
  write8(uart, LCR, 0x80);
  EXPECT_EQ(read8(uart, DLL), 0x01);
  EXPECT_EQ(read8(uart, DLM), 0x02);
}

TEST_F(SerialTest, ThrWriteCallsOutputOneByteAtATime) {
  write8(uart, THR, 'h');
  write8(uart, THR, 'i');
  EXPECT_EQ(std::string(out.begin(), out.end()), "hi");
  EXPECT_EQ(read8(uart, LSR) & 0x60, 0x60);  // THRE and TEMT stay set
  EXPECT_TRUE(irq.calls.empty());            // no IER, no OUT2: no interrupt
}

TEST_F(SerialTest, ThreInterruptNeedsIerAndOut2) {
  write8(uart, MCR, 0x08);  // OUT2 only
  write8(uart, THR, 'a');
  EXPECT_EQ(read8(uart, IIR), 0x01);  // THRE latched but not enabled
  EXPECT_TRUE(irq.calls.empty());

  write8(uart, MCR, 0x00);
  write8(uart, IER, 0x02);         // enabling with THR empty latches THRE at once
  EXPECT_TRUE(irq.calls.empty());  // but OUT2 is low: line gated
  write8(uart, MCR, 0x08);
  ASSERT_EQ(irq.calls.size(), 1u);
  EXPECT_EQ(irq.calls[0], (FakeIrqChip::Call{kGsi, true}));
  EXPECT_EQ(read8(uart, IIR), 0x02);
  // Reading IIR acknowledged THRE: the line falls, IIR says nothing pending.
  ASSERT_EQ(irq.calls.size(), 2u);
  EXPECT_EQ(irq.calls[1], (FakeIrqChip::Call{kGsi, false}));
  EXPECT_EQ(read8(uart, IIR), 0x01);

  // A THR write makes THR empty again: a fresh THRE interrupt.
  write8(uart, THR, 'b');
  ASSERT_EQ(irq.calls.size(), 3u);
  EXPECT_TRUE(irq.calls[2].level);
  EXPECT_EQ(read8(uart, IIR), 0x02);
  EXPECT_FALSE(irq.level(kGsi));
  EXPECT_EQ(std::string(out.begin(), out.end()), "ab");
}

TEST_F(SerialTest, ReEnablingThreInterruptReassertsIt) {
  // Linux's start-up check (UART_BUG_THRE): enable, read IIR, disable,
  // enable again, read IIR: a working UART reports THRE both times.
  write8(uart, IER, 0x02);
  EXPECT_EQ(read8(uart, IIR), 0x02);
  write8(uart, IER, 0x00);
  write8(uart, IER, 0x02);
  EXPECT_EQ(read8(uart, IIR), 0x02);
  EXPECT_EQ(read8(uart, IIR), 0x01);
}

TEST_F(SerialTest, ReceiveSetsDataReadyAndRaisesRda) {
  write8(uart, MCR, 0x08);
  write8(uart, IER, 0x01);
  write8(uart, FCR, 0x01);  // FIFO, trigger level 1
  EXPECT_TRUE(irq.calls.empty());
  EXPECT_EQ(feed("xy"), 2u);
  EXPECT_EQ(read8(uart, LSR) & 0x01, 0x01);
  ASSERT_EQ(irq.calls.size(), 1u);
  EXPECT_TRUE(irq.calls[0].level);
  EXPECT_EQ(read8(uart, IIR), 0xC4);
  EXPECT_EQ(read8(uart, RBR), 'x');
  EXPECT_TRUE(irq.level(kGsi));  // still one byte
  EXPECT_EQ(read8(uart, RBR), 'y');
  EXPECT_FALSE(irq.level(kGsi));
  EXPECT_EQ(read8(uart, LSR) & 0x01, 0x00);
  EXPECT_EQ(read8(uart, IIR), 0xC1);
  EXPECT_EQ(irq.calls.size(), 2u);  // one raise, one lower: no redundant calls
}

TEST_F(SerialTest, WithoutFifoOnlyOneByteIsTaken) {
  EXPECT_EQ(feed("abc"), 1u);
  EXPECT_FALSE(uart.can_receive());
  EXPECT_EQ(read8(uart, RBR), 'a');
  EXPECT_TRUE(uart.can_receive());
  EXPECT_EQ(read8(uart, LSR) & 0x02, 0);  // nothing the guest saw was lost
}

TEST_F(SerialTest, FifoHoldsSixteenThenRefuses) {
  write8(uart, FCR, 0x07);  // enable + clear both
  EXPECT_EQ(read8(uart, IIR) & 0xC0, 0xC0);
  EXPECT_EQ(feed("0123456789abcdefXYZ"), 16u);
  EXPECT_FALSE(uart.can_receive());
  EXPECT_EQ(feed("Z"), 0u);
  EXPECT_EQ(read8(uart, LSR) & 0x02, 0);  // no overrun: the host kept the rest
  std::string got;
  for (int i = 0; i < 16; i++) got += static_cast<char>(read8(uart, RBR));
  EXPECT_EQ(got, "0123456789abcdef");
  EXPECT_EQ(read8(uart, LSR) & 0x01, 0);
  EXPECT_EQ(read8(uart, RBR), 'f');  // empty FIFO: RBR reads the last byte again
  EXPECT_EQ(feed("XYZ"), 3u);
}

TEST_F(SerialTest, FifoTriggerLevelAndTimeoutId) {
  write8(uart, FCR, 0x81);  // enable, trigger level 8
  write8(uart, IER, 0x01);
  EXPECT_EQ(feed("1234567"), 7u);
  EXPECT_EQ(read8(uart, IIR), 0xCC);  // below trigger: character timeout
  EXPECT_EQ(feed("8"), 1u);
  EXPECT_EQ(read8(uart, IIR), 0xC4);  // at trigger: received data available
  write8(uart, FCR, 0x83);            // clear the receive FIFO
  EXPECT_EQ(read8(uart, LSR) & 0x01, 0);
  EXPECT_EQ(read8(uart, IIR), 0xC1);
  write8(uart, FCR, 0x00);  // FIFOs off
  EXPECT_EQ(read8(uart, IIR), 0x01);
}

TEST_F(SerialTest, RxSpaceCallbackAfterRefusal) {
  int calls = 0;
  uart.set_rx_space_callback([&] { calls++; });
  EXPECT_EQ(feed("a"), 1u);
  read8(uart, RBR);
  EXPECT_EQ(calls, 0);  // the host was never refused
  EXPECT_EQ(feed("bc"), 1u);
  EXPECT_EQ(calls, 0);
  read8(uart, LSR);
  EXPECT_EQ(calls, 0);  // no room yet
  read8(uart, RBR);
  EXPECT_EQ(calls, 1);
  read8(uart, RBR);
  EXPECT_EQ(calls, 1);  // once per refusal
}

TEST_F(SerialTest, LoopbackRoutesThrToRbrAndMcrToMsr) {
  write8(uart, MCR, 0x10 | 0x0A);            // Linux's probe: LOOP | OUT2 | RTS
  EXPECT_EQ(read8(uart, MSR) & 0xF0, 0x90);  // CTS (from RTS) | DCD (from OUT2)
  write8(uart, THR, 'Q');
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(read8(uart, LSR) & 0x01, 0x01);
  EXPECT_EQ(read8(uart, RBR), 'Q');
  EXPECT_FALSE(uart.can_receive());  // the receiver is cut off from the host
  EXPECT_EQ(feed("h"), 0u);

  write8(uart, MCR, 0x10 | 0x0F);            // add DTR and OUT1
  EXPECT_EQ(read8(uart, MSR), 0xF0 | 0x02);  // DSR changed: DDSR
  write8(uart, MCR, 0x10 | 0x0B);            // drop OUT1 (RI): trailing edge
  EXPECT_EQ(read8(uart, MSR), 0xB0 | 0x04);
  EXPECT_EQ(read8(uart, MSR), 0xB0);  // deltas cleared by the read

  write8(uart, MCR, 0x00);  // leave loopback: lines idle again
  EXPECT_EQ(read8(uart, MSR) & 0xF0, 0xB0);
  EXPECT_TRUE(uart.can_receive());
  write8(uart, THR, 'R');
  EXPECT_EQ(std::string(out.begin(), out.end()), "R");
}

TEST_F(SerialTest, LoopbackOverrunSetsOeAndLineStatusInterrupt) {
  write8(uart, MCR, 0x18);  // loopback with OUT2 set
  write8(uart, IER, 0x05);  // RDA + line status
  write8(uart, THR, '1');
  write8(uart, THR, '2');             // no FIFO: overwrites the unread '1'
  EXPECT_EQ(read8(uart, IIR), 0x06);  // line status beats received data
  EXPECT_EQ(read8(uart, LSR), 0x63);  // DR | OE | THRE | TEMT
  EXPECT_EQ(read8(uart, LSR), 0x61);  // OE cleared by the read
  EXPECT_EQ(read8(uart, IIR), 0x04);
  EXPECT_EQ(read8(uart, RBR), '2');
  EXPECT_TRUE(irq.calls.empty());  // loopback keeps the PC's IRQ line low

  write8(uart, FCR, 0x01);
  for (int i = 0; i < 17; i++) write8(uart, THR, static_cast<uint8_t>('a' + i));
  EXPECT_EQ(read8(uart, LSR) & 0x02, 0x02);
  for (int i = 0; i < 16; i++) EXPECT_EQ(read8(uart, RBR), 'a' + i);  // the 17th was lost
  EXPECT_EQ(read8(uart, LSR) & 0x01, 0);
}

TEST_F(SerialTest, ModemStatusInterruptIsLowestPriority) {
  write8(uart, MCR, 0x10);            // loopback: DSR etc. follow MCR
  EXPECT_EQ(read8(uart, MSR), 0x0B);  // CTS, DSR, DCD all dropped on entering loopback
  write8(uart, IER, 0x0A);            // THRE + modem status
  write8(uart, MCR, 0x11);            // DTR -> DSR: DDSR
  EXPECT_EQ(read8(uart, IIR), 0x02);  // THRE first (latched when IER enabled it)
  EXPECT_EQ(read8(uart, IIR), 0x00);  // then modem status
  EXPECT_EQ(read8(uart, MSR), 0x22);
  EXPECT_EQ(read8(uart, IIR), 0x01);
}

TEST_F(SerialTest, Out2GatesTheLineAndEdgesAreReported) {
  write8(uart, IER, 0x01);
  EXPECT_EQ(feed("z"), 1u);
  EXPECT_TRUE(irq.calls.empty());
  write8(uart, MCR, 0x08);
  write8(uart, MCR, 0x00);
  write8(uart, MCR, 0x08);
  ASSERT_EQ(irq.calls.size(), 3u);
  EXPECT_TRUE(irq.calls[0].level);
  EXPECT_FALSE(irq.calls[1].level);
  EXPECT_TRUE(irq.calls[2].level);
  write8(uart, IER, 0x00);
  EXPECT_FALSE(irq.level(kGsi));
}

TEST_F(SerialTest, WideAccessesActAsByteAccesses) {
  const uint8_t two[2] = {'w', 0x02};  // THR then IER
  uart.write(THR, two);
  EXPECT_EQ(std::string(out.begin(), out.end()), "w");
  EXPECT_EQ(read8(uart, IER), 0x02);
  uint8_t pair[2];
  uart.read(LCR, pair);  // LCR then MCR
  EXPECT_EQ(pair[0], 0x00);
  EXPECT_EQ(pair[1], 0x00);
  uint8_t beyond = 0;
  uart.read(8, std::span<uint8_t>(&beyond, 1));  // not a register: harmless
  EXPECT_EQ(beyond, 0xFF);
}

TEST_F(SerialTest, HostAndGuestThreadsLoseNothing) {
  write8(uart, FCR, 0x01);
  std::vector<uint8_t> sent(3000);
  for (size_t i = 0; i < sent.size(); i++) sent[i] = static_cast<uint8_t>(i * 7 + i / 256);
  std::thread host([&] {
    std::span<const uint8_t> rest(sent);
    while (!rest.empty()) {
      size_t taken = uart.receive(rest);
      if (taken == 0) std::this_thread::yield();
      rest = rest.subspan(taken);
    }
  });
  std::vector<uint8_t> got;
  while (got.size() < sent.size()) {
    if (read8(uart, LSR) & 0x01) {
      got.push_back(read8(uart, RBR));
    } else {
      std::this_thread::yield();
    }
  }
  host.join();
  EXPECT_EQ(got, sent);
  EXPECT_EQ(read8(uart, LSR), 0x60);  // no overrun, nothing left
}

}  // namespace
}  // namespace vessel

#include "devices/serial.h"

#include <algorithm>
#include <utility>

namespace vessel {
namespace {

// Register offsets (DLAB = LCR bit 7 selects the divisor latch at 0 and 1).
constexpr uint64_t kRegData = 0;  // RBR (read) / THR (write) / DLL
constexpr uint64_t kRegIer = 1;   // IER / DLM
constexpr uint64_t kRegIir = 2;   // IIR (read) / FCR (write)
constexpr uint64_t kRegLcr = 3;
constexpr uint64_t kRegMcr = 4;
constexpr uint64_t kRegLsr = 5;
constexpr uint64_t kRegMsr = 6;
constexpr uint64_t kRegScr = 7;

constexpr uint8_t kIerRda = 0x01;   // received data available
constexpr uint8_t kIerThre = 0x02;  // transmitter holding register empty
constexpr uint8_t kIerRls = 0x04;   // receiver line status
constexpr uint8_t kIerMsi = 0x08;   // modem status
constexpr uint8_t kIerMask = 0x0F;

constexpr uint8_t kIirNone = 0x01;
constexpr uint8_t kIirLineStatus = 0x06;
constexpr uint8_t kIirRxData = 0x04;
constexpr uint8_t kIirRxTimeout = 0x0C;
constexpr uint8_t kIirThre = 0x02;
constexpr uint8_t kIirModemStatus = 0x00;
constexpr uint8_t kIirFifosEnabled = 0xC0;

constexpr uint8_t kFcrEnable = 0x01;
constexpr uint8_t kFcrClearRx = 0x02;
constexpr uint8_t kFcrTriggerMask = 0xC0;

constexpr uint8_t kLcrDlab = 0x80;

constexpr uint8_t kMcrDtr = 0x01;
constexpr uint8_t kMcrRts = 0x02;
constexpr uint8_t kMcrOut1 = 0x04;
constexpr uint8_t kMcrOut2 = 0x08;
constexpr uint8_t kMcrLoop = 0x10;
constexpr uint8_t kMcrMask = 0x1F;

constexpr uint8_t kLsrDr = 0x01;
constexpr uint8_t kLsrOe = 0x02;
constexpr uint8_t kLsrThre = 0x20;
constexpr uint8_t kLsrTemt = 0x40;

constexpr uint8_t kMsrDcts = 0x01;
constexpr uint8_t kMsrDdsr = 0x02;
constexpr uint8_t kMsrTeri = 0x04;
constexpr uint8_t kMsrDdcd = 0x08;
constexpr uint8_t kMsrCts = 0x10;
constexpr uint8_t kMsrDsr = 0x20;
constexpr uint8_t kMsrRi = 0x40;
constexpr uint8_t kMsrDcd = 0x80;
// Outside loopback no modem is attached; report a ready one so that guests
// waiting for CTS/DSR/DCD before transmitting do not stall.
constexpr uint8_t kMsrLinesIdle = kMsrCts | kMsrDsr | kMsrDcd;

}  // namespace

Serial16550::Serial16550(IrqChip& irq, uint32_t gsi, OutputFn output)
    : irq_(irq), gsi_(gsi), output_(std::move(output)) {}

void Serial16550::set_rx_space_callback(std::function<void()> callback) {
  std::lock_guard lock(mu_);
  rx_space_callback_ = std::move(callback);
}

void Serial16550::read(uint64_t offset, std::span<uint8_t> data) {
  // Wider accesses act as consecutive byte accesses, as on the ISA bus.
  for (size_t i = 0; i < data.size(); i++) {
    std::function<void()> notify;
    {
      std::lock_guard lock(mu_);
      data[i] = read_register(offset + i);
      update_irq();
      notify = take_rx_space_notification();
    }
    if (notify) notify();
  }
}

void Serial16550::write(uint64_t offset, std::span<const uint8_t> data) {
  for (size_t i = 0; i < data.size(); i++) {
    uint64_t reg = offset + i;
    if (reg == kRegData) {
      transmit(data[i]);
      continue;
    }
    std::function<void()> notify;
    {
      std::lock_guard lock(mu_);
      write_register(reg, data[i]);
      update_irq();
      notify = take_rx_space_notification();
    }
    if (notify) notify();
  }
}

void Serial16550::transmit(uint8_t byte) {
  std::lock_guard out_lock(output_mu_);
  bool send = false;
  {
    std::lock_guard lock(mu_);
    if (lcr_ & kLcrDlab) {
      dll_ = byte;
      return;
    }
    if (loopback()) {
      push_rx(byte);
    } else {
      send = true;
    }
    // The byte leaves THR at once: THR is empty again, which latches the
    // THR-empty interrupt (reported only while IER enables it).
    thre_pending_ = true;
    update_irq();
  }
  if (send && output_) output_(std::span<const uint8_t>(&byte, 1));
}

uint8_t Serial16550::read_register(uint64_t reg) {
  bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (reg) {
    case kRegData:
      if (dlab) return dll_;
      if (rx_count_ > 0) {
        last_rbr_ = rx_[rx_head_];
        rx_head_ = (rx_head_ + 1) % kFifoSize;
        rx_count_--;
      }
      return last_rbr_;
    case kRegIer:
      return dlab ? dlm_ : ier_;
    case kRegIir: {
      uint8_t id = interrupt_id();
      // Reading IIR while it reports THR empty acknowledges that interrupt.
      if (id == kIirThre) thre_pending_ = false;
      return id | (fifo_enabled() ? kIirFifosEnabled : 0);
    }
    case kRegLcr:
      return lcr_;
    case kRegMcr:
      return mcr_;
    case kRegLsr: {
      uint8_t value = lsr();
      line_errors_ = 0;
      return value;
    }
    case kRegMsr: {
      uint8_t value = modem_status_lines() | msr_deltas_;
      msr_deltas_ = 0;
      return value;
    }
    case kRegScr:
      return scr_;
    default:
      return 0xFF;  // outside the 8 registers: only a malformed access gets here
  }
}

void Serial16550::write_register(uint64_t reg, uint8_t value) {
  bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (reg) {
    case kRegData:  // only DLL reaches here: THR goes through transmit()
      dll_ = value;
      break;
    case kRegIer:
      if (dlab) {
        dlm_ = value;
      } else {
        uint8_t old = ier_;
        ier_ = value & kIerMask;
        // Enabling the THR-empty interrupt while THR is empty (it always is)
        // raises it at once; Linux's 8250 driver relies on this to start
        // transmission and tests for it at start-up.
        if (!(old & kIerThre) && (ier_ & kIerThre)) thre_pending_ = true;
      }
      break;
    case kRegIir: {  // FCR
      bool enable = (value & kFcrEnable) != 0;
      if (enable != fifo_enabled()) clear_rx();  // switching FIFO mode empties the FIFOs
      if (!enable) {
        fcr_ = 0;  // the other FCR bits are only written with FIFO enable set
      } else {
        if (value & kFcrClearRx) clear_rx();
        // The transmit FIFO is always empty, so "clear TX" has nothing to do.
        fcr_ = value & (kFcrEnable | kFcrTriggerMask);
      }
      break;
    }
    case kRegLcr:
      lcr_ = value;
      break;
    case kRegMcr:
      set_mcr(value & kMcrMask);
      break;
    case kRegScr:
      scr_ = value;
      break;
    default:
      break;  // LSR and MSR writes (factory test on real parts) are ignored
  }
}

size_t Serial16550::rx_trigger_level() const {
  switch (fcr_ >> 6) {
    case 0:
      return 1;
    case 1:
      return 4;
    case 2:
      return 8;
    default:
      return 14;
  }
}

void Serial16550::clear_rx() {
  rx_head_ = 0;
  rx_count_ = 0;
}

void Serial16550::push_rx(uint8_t byte) {
  if (rx_count_ < rx_capacity()) {
    rx_[(rx_head_ + rx_count_) % kFifoSize] = byte;
    rx_count_++;
    return;
  }
  // Overrun: the guest did not read in time and a character is lost. With
  // FIFOs the new character (in the shift register) is lost; without, it
  // overwrites the unread one in RBR.
  line_errors_ |= kLsrOe;
  if (!fifo_enabled()) rx_[rx_head_] = byte;
}

uint8_t Serial16550::lsr() const {
  return (rx_count_ > 0 ? kLsrDr : 0) | line_errors_ | kLsrThre | kLsrTemt;
}

uint8_t Serial16550::modem_status_lines() const {
  if (!loopback()) return kMsrLinesIdle;
  // Loopback wires the modem control outputs to the modem status inputs.
  return ((mcr_ & kMcrRts) ? kMsrCts : 0) | ((mcr_ & kMcrDtr) ? kMsrDsr : 0) |
         ((mcr_ & kMcrOut1) ? kMsrRi : 0) | ((mcr_ & kMcrOut2) ? kMsrDcd : 0);
}

void Serial16550::set_mcr(uint8_t value) {
  uint8_t before = modem_status_lines();
  mcr_ = value;
  uint8_t after = modem_status_lines();
  uint8_t changed = before ^ after;
  if (changed & kMsrCts) msr_deltas_ |= kMsrDcts;
  if (changed & kMsrDsr) msr_deltas_ |= kMsrDdsr;
  if ((before & kMsrRi) && !(after & kMsrRi)) msr_deltas_ |= kMsrTeri;  // trailing edge only
  if (changed & kMsrDcd) msr_deltas_ |= kMsrDdcd;
}

uint8_t Serial16550::interrupt_id() const {
  if ((ier_ & kIerRls) && line_errors_ != 0) return kIirLineStatus;
  if ((ier_ & kIerRda) && rx_count_ > 0) {
    // Below the trigger level real hardware reports a character timeout
    // after four character times of silence; we report it at once.
    if (fifo_enabled() && rx_count_ < rx_trigger_level()) return kIirRxTimeout;
    return kIirRxData;
  }
  if ((ier_ & kIerThre) && thre_pending_) return kIirThre;
  if ((ier_ & kIerMsi) && msr_deltas_ != 0) return kIirModemStatus;
  return kIirNone;
}

void Serial16550::update_irq() {
  // On a PC the UART's interrupt output reaches the PIC through a buffer
  // enabled by OUT2. Loopback forces the OUT2 pin inactive (datasheet), so
  // the line stays low in loopback whatever MCR.OUT2 holds.
  bool level = interrupt_id() != kIirNone && (mcr_ & kMcrOut2) && !loopback();
  if (level == irq_level_) return;
  irq_level_ = level;
  irq_.set_level(gsi_, level);
}

std::function<void()> Serial16550::take_rx_space_notification() {
  if (!host_waiting_ || loopback() || rx_count_ >= rx_capacity()) return {};
  host_waiting_ = false;
  return rx_space_callback_;
}

size_t Serial16550::receive(std::span<const uint8_t> bytes) {
  std::lock_guard lock(mu_);
  if (bytes.empty()) return 0;
  if (loopback()) {
    host_waiting_ = true;
    return 0;
  }
  size_t taken = std::min(bytes.size(), rx_capacity() - rx_count_);
  for (size_t i = 0; i < taken; i++) push_rx(bytes[i]);
  if (taken < bytes.size()) host_waiting_ = true;
  update_irq();
  return taken;
}

bool Serial16550::can_receive() const {
  std::lock_guard lock(mu_);
  return !loopback() && rx_count_ < rx_capacity();
}

}  // namespace vessel

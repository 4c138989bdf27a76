#include "irq/pic8259.h"

#include <span>
#include <string_view>

namespace vessel {
namespace {

constexpr int kCascadeIrq = 2;
constexpr uint8_t kMasterElcrMask = 0xF8;  // IRQ 0-2 are always edge-triggered
constexpr uint8_t kSlaveElcrMask = 0xDE;   // IRQ 8 and 13 are always edge-triggered

// ICW1 / OCW2 / OCW3 bits.
constexpr uint8_t kIcw1Icw4 = 0x01, kIcw1Single = 0x02, kIcw1Ltim = 0x08, kIcw1 = 0x10;
constexpr uint8_t kOcw3 = 0x08, kOcw3Poll = 0x04, kOcw3ReadReg = 0x02, kOcw3ReadIsr = 0x01;
constexpr uint8_t kOcw3SetSpecialMask = 0x40, kOcw3SpecialMask = 0x20;
constexpr uint8_t kIcw4AutoEoi = 0x02, kIcw4Sfnm = 0x10;
constexpr uint8_t kPollInterrupt = 0x80;

// Priority level (0 highest) of the highest-priority bit set in `mask`, 8 if none.
int priority_of(uint8_t mask, uint8_t priority_add) {
  for (int p = 0; p < 8; p++) {
    if (mask & (1u << ((p + priority_add) & 7))) return p;
  }
  return 8;
}

class PicPorts final : public Device {
 public:
  PicPorts(std::shared_ptr<PicPair> pair, std::mutex& mu, uint16_t base)
      : pair_(std::move(pair)), mu_(mu), base_(base) {}
  std::string_view name() const override {
    return base_ == PicPair::kPortElcr     ? "pic-elcr"
           : base_ == PicPair::kPortMaster ? "pic-master"
                                           : "pic-slave";
  }
  void read(uint64_t offset, std::span<uint8_t> data) override {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < data.size(); i++) {
      uint64_t o = offset + i;
      data[i] = o < PicPair::kPortCount ? pair_->read_port_locked(static_cast<uint16_t>(base_ + o))
                                        : 0xFF;
    }
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < data.size(); i++) {
      uint64_t o = offset + i;
      if (o < PicPair::kPortCount)
        pair_->write_port_locked(static_cast<uint16_t>(base_ + o), data[i]);
    }
  }

 private:
  std::shared_ptr<PicPair> pair_;
  std::mutex& mu_;
  uint16_t base_;
};

}  // namespace

void PicPair::Chip::set_input(int irq, bool level) {
  uint8_t mask = static_cast<uint8_t>(1u << irq);
  if (level_triggered(irq)) {
    // Level-sensitive: the request follows the line.
    if (level) {
      irr |= mask;
    } else {
      irr &= ~mask;
    }
  } else if (level && !(lines & mask)) {
    irr |= mask;  // rising edge; the request stays latched until acknowledged
  }
  if (level) {
    lines |= mask;
  } else {
    lines &= ~mask;
  }
}

int PicPair::Chip::pending_irq() const {
  int request = priority_of(irr & ~imr, priority_add);
  if (request == 8) return -1;
  uint8_t in_service = isr;
  // Special mask mode: only in-service levels that are masked lose their block.
  if (special_mask) in_service &= ~imr;
  // Special fully nested mode: the master lets the slave nest its own requests.
  if (special_fully_nested && is_master) in_service &= ~(1u << kCascadeIrq);
  int current = priority_of(in_service, priority_add);
  if (request >= current) return -1;
  return (request + priority_add) & 7;
}

void PicPair::Chip::clear_highest_isr(bool rotate) {
  int p = priority_of(isr, priority_add);
  if (p == 8) return;
  int irq = (p + priority_add) & 7;
  isr &= ~(1u << irq);
  if (rotate) priority_add = static_cast<uint8_t>((irq + 1) & 7);
}

void PicPair::Chip::write_command(uint8_t value) {
  if (value & kIcw1) {
    icw4_needed = value & kIcw1Icw4;
    single = value & kIcw1Single;
    ltim = value & kIcw1Ltim;
    imr = 0;
    isr = 0;
    // The edge-sense circuit is reset: an edge request needs a new low-to-high
    // transition (a line high now must fall first; `lines` keeps its level);
    // level requests stand while their lines are high.
    irr = 0;
    for (int i = 0; i < 8; i++) {
      if (level_triggered(i) && (lines >> i & 1)) irr |= static_cast<uint8_t>(1u << i);
    }
    priority_add = 0;
    special_mask = false;
    read_isr = false;
    poll = false;
    auto_eoi = false;
    rotate_on_auto_eoi = false;
    special_fully_nested = false;
    init_step = 2;
    return;
  }
  if (value & kOcw3) {
    if (value & kOcw3Poll) poll = true;
    if (value & kOcw3ReadReg) read_isr = value & kOcw3ReadIsr;
    if (value & kOcw3SetSpecialMask) special_mask = value & kOcw3SpecialMask;
    return;
  }
  int level = value & 7;
  switch (value >> 5) {
    case 0:  // clear rotate in automatic EOI mode
      rotate_on_auto_eoi = false;
      break;
    case 1:  // non-specific EOI
      clear_highest_isr(false);
      break;
    case 3:  // specific EOI
      isr &= ~(1u << level);
      break;
    case 4:  // set rotate in automatic EOI mode
      rotate_on_auto_eoi = true;
      break;
    case 5:  // rotate on non-specific EOI
      clear_highest_isr(true);
      break;
    case 6:  // set priority: `level` becomes the lowest
      priority_add = static_cast<uint8_t>((level + 1) & 7);
      break;
    case 7:  // rotate on specific EOI
      isr &= ~(1u << level);
      priority_add = static_cast<uint8_t>((level + 1) & 7);
      break;
    default:  // 2: no operation
      break;
  }
}

void PicPair::Chip::write_data(uint8_t value) {
  switch (init_step) {
    case 2:  // ICW2: vector base
      base = value & 0xF8;
      init_step = single ? (icw4_needed ? 4 : 0) : 3;
      break;
    case 3:  // ICW3: cascade wiring (fixed on a PC: slave on IR2)
      init_step = icw4_needed ? 4 : 0;
      break;
    case 4:  // ICW4
      auto_eoi = value & kIcw4AutoEoi;
      special_fully_nested = value & kIcw4Sfnm;
      init_step = 0;
      break;
    default:  // OCW1
      imr = value;
      break;
  }
}

int PicPair::Chip::ack(bool set_isr) {
  int irq = pending_irq();
  if (irq < 0) return -1;
  uint8_t mask = static_cast<uint8_t>(1u << irq);
  if (!level_triggered(irq)) irr &= ~mask;
  if (!set_isr) return irq;
  if (auto_eoi) {
    if (rotate_on_auto_eoi) priority_add = static_cast<uint8_t>((irq + 1) & 7);
  } else {
    isr |= mask;
  }
  return irq;
}

PicPair::PicPair(std::mutex& mu, std::function<void()> on_intr_change)
    : mu_(mu), on_intr_change_(std::move(on_intr_change)) {
  // Not operational before ICW1: all requests masked until the guest
  // initialises the pair (no firmware does it for it).
  master_.imr = slave_.imr = 0xFF;
  master_.is_master = true;
  master_.elcr_mask = kMasterElcrMask;
  slave_.elcr_mask = kSlaveElcrMask;
}

void PicPair::set_irq_locked(uint32_t irq, bool level) {
  if (irq >= 16 || irq == kCascadeIrq) return;  // IR2 is the slave's cascade input
  if (irq < 8) {
    master_.set_input(static_cast<int>(irq), level);
  } else {
    slave_.set_input(static_cast<int>(irq - 8), level);
  }
  update_locked();
}

void PicPair::update_locked() {
  master_.set_input(kCascadeIrq, slave_.pending_irq() >= 0);
  bool intr = master_.pending_irq() >= 0;
  bool changed = intr != last_intr_;
  last_intr_ = intr;
  if ((changed || intr) && on_intr_change_) on_intr_change_();
}

bool PicPair::intr_locked() const {
  return master_.pending_irq() >= 0;
}

uint8_t PicPair::peek_vector_locked() const {
  int irq = master_.pending_irq();
  if (irq < 0) return static_cast<uint8_t>(master_.base + 7);
  if (irq == kCascadeIrq && !master_.single) {
    int slave_irq = slave_.pending_irq();
    return static_cast<uint8_t>(slave_.base + (slave_irq < 0 ? 7 : slave_irq));
  }
  return static_cast<uint8_t>(master_.base + irq);
}

uint8_t PicPair::acknowledge_locked() {
  int irq = master_.ack(true);
  uint8_t vector;
  if (irq < 0) {
    vector = static_cast<uint8_t>(master_.base + 7);  // spurious IR7, ISR untouched
  } else if (irq == kCascadeIrq && !master_.single) {
    int slave_irq = slave_.ack(true);
    vector = static_cast<uint8_t>(slave_.base + (slave_irq < 0 ? 7 : slave_irq));
  } else {
    vector = static_cast<uint8_t>(master_.base + irq);
  }
  update_locked();
  return vector;
}

uint8_t PicPair::poll_read_locked(Chip& chip) {
  chip.poll = false;
  int irq = chip.ack(true);
  update_locked();
  return irq < 0 ? 0 : static_cast<uint8_t>(kPollInterrupt | irq);
}

uint8_t PicPair::read_port_locked(uint16_t port) {
  if (port == kPortElcr) return master_.elcr;
  if (port == kPortElcr + 1) return slave_.elcr;
  Chip* chip = (port & ~1u) == kPortMaster  ? &master_
               : (port & ~1u) == kPortSlave ? &slave_
                                            : nullptr;
  if (!chip) return 0xFF;
  if (chip->poll) return poll_read_locked(*chip);
  if (port & 1) return chip->imr;
  return chip->read_isr ? chip->isr : chip->irr;
}

void PicPair::write_port_locked(uint16_t port, uint8_t value) {
  if (port == kPortElcr || port == kPortElcr + 1) {
    Chip& chip = port == kPortElcr ? master_ : slave_;
    chip.elcr = value & chip.elcr_mask;
  } else {
    Chip* chip = (port & ~1u) == kPortMaster  ? &master_
                 : (port & ~1u) == kPortSlave ? &slave_
                                              : nullptr;
    if (!chip) return;
    if (port & 1) {
      chip->write_data(value);
    } else {
      chip->write_command(value);
    }
  }
  update_locked();
}

std::shared_ptr<Device> PicPair::port_device(std::shared_ptr<PicPair> pair, uint16_t base) {
  std::mutex& mu = pair->mu_;
  return std::make_shared<PicPorts>(std::move(pair), mu, base);
}

}  // namespace vessel

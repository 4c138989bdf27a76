#include "irq/soft_irq_chip.h"

#include <algorithm>

#include "base/pc_layout.h"

namespace vessel {
namespace {

constexpr uint32_t kIoapicPinPit = 2;
constexpr uint32_t kIoapicPinExtInt = 0;
constexpr uint32_t kIsaIrqs = 16;
constexpr uint32_t kCascadeGsi = 2;
constexpr uint64_t kMsiAddressBase = 0xFEE0'0000, kMsiAddressMask = 0xFFF0'0000;

// The vCPU this thread runs, for xAPIC MMIO (see bind_current_thread).
thread_local int current_cpu = 0;

}  // namespace

// The xAPIC page: each access goes to the calling vCPU's local APIC.
class SoftIrqChip::LapicWindow final : public Device {
 public:
  explicit LapicWindow(SoftIrqChip& chip) : chip_(chip) {}
  std::string_view name() const override { return "lapic"; }
  void read(uint64_t offset, std::span<uint8_t> data) override { target().read(offset, data); }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    target().write(offset, data);
  }

 private:
  Lapic& target() {
    int cpu = current_cpu < chip_.cpu_count() ? current_cpu : 0;
    return chip_.lapic(cpu);
  }
  SoftIrqChip& chip_;
};

SoftIrqChip::SoftIrqChip(TimeSource& time, int cpus, uint64_t tsc_hz) {
  pic_ = std::make_shared<PicPair>(mu_, [this] { on_pic_intr_locked(); });
  ioapic_ = std::make_shared<Ioapic>(mu_, static_cast<uint8_t>(cpus),
                                     [this](const ApicMessage& m) { deliver_locked(m); });
  cpus = std::max(cpus, 1);
  for (int i = 0; i < cpus; i++) {
    lapics_.push_back(std::make_unique<Lapic>(mu_, static_cast<ApicBus&>(*this), time,
                                              static_cast<uint32_t>(i), i == 0, tsc_hz));
  }
  pit_ = std::make_shared<Pit8254>(*this, layout::kIrqPit, time);
}

SoftIrqChip::~SoftIrqChip() = default;

void SoftIrqChip::set_level(uint32_t gsi, bool level) {
  std::lock_guard lock(mu_);
  if (gsi < kIsaIrqs) pic_->set_irq_locked(gsi, level);
  if (gsi == layout::kIrqPit) {
    ioapic_->set_pin_locked(kIoapicPinPit, level);
  } else if (gsi != kCascadeGsi && gsi < Ioapic::kPins) {
    ioapic_->set_pin_locked(gsi, level);
  }
}

void SoftIrqChip::send_msi(uint64_t address, uint32_t data) {
  if ((address & kMsiAddressMask) != kMsiAddressBase) return;  // not an interrupt message
  ApicMessage m;
  m.vector = static_cast<uint8_t>(data);
  m.mode = static_cast<DeliveryMode>((data >> 8) & 7);
  m.level = data >> 15 & 1;
  m.dest = (address >> 12) & 0xFF;
  m.logical = address >> 2 & 1;
  bool redirection_hint = address >> 3 & 1;
  if (redirection_hint && m.mode == DeliveryMode::kFixed) m.mode = DeliveryMode::kLowestPriority;
  std::lock_guard lock(mu_);
  deliver_locked(m);
}

void SoftIrqChip::deliver_locked(const ApicMessage& m) {
  if (m.mode == DeliveryMode::kLowestPriority) {
    for (auto& lapic : lapics_) {  // in APIC ID order: the first match has the lowest ID
      if (lapic->matches_locked(m)) {
        lapic->accept_locked(m);
        return;
      }
    }
    return;
  }
  for (auto& lapic : lapics_) {
    if (lapic->matches_locked(m)) lapic->accept_locked(m);
  }
}

void SoftIrqChip::send_ipi_locked(const ApicMessage& m, uint32_t source_id) {
  switch (m.shorthand) {
    case DestShorthand::kNone:
      deliver_locked(m);
      break;
    case DestShorthand::kSelf:
      if (source_id < lapics_.size()) lapics_[source_id]->accept_locked(m);
      break;
    case DestShorthand::kAllIncludingSelf:
    case DestShorthand::kAllExcludingSelf:
      for (auto& lapic : lapics_) {
        if (m.shorthand == DestShorthand::kAllExcludingSelf && lapic->id() == source_id) continue;
        lapic->accept_locked(m);
      }
      break;
  }
}

void SoftIrqChip::eoi_broadcast_locked(uint8_t vector) {
  ioapic_->eoi_locked(vector);
}
bool SoftIrqChip::ext_int_pending_locked() {
  return pic_->intr_locked();
}
uint8_t SoftIrqChip::ext_int_peek_locked() {
  return pic_->peek_vector_locked();
}
uint8_t SoftIrqChip::ext_int_acknowledge_locked() {
  return pic_->acknowledge_locked();
}

void SoftIrqChip::on_pic_intr_locked() {
  ioapic_->set_pin_locked(kIoapicPinExtInt, pic_->intr_locked());
  for (auto& lapic : lapics_) lapic->ext_int_changed_locked();
}

void SoftIrqChip::bind_current_thread(int cpu) {
  current_cpu = cpu;
}

Status SoftIrqChip::attach(IoBus& bus) {
  VESSEL_TRY(bus.add_pio(PicPair::kPortMaster, PicPair::kPortCount,
                         PicPair::port_device(pic_, PicPair::kPortMaster)));
  VESSEL_TRY(bus.add_pio(PicPair::kPortSlave, PicPair::kPortCount,
                         PicPair::port_device(pic_, PicPair::kPortSlave)));
  VESSEL_TRY(bus.add_pio(PicPair::kPortElcr, PicPair::kPortCount,
                         PicPair::port_device(pic_, PicPair::kPortElcr)));
  VESSEL_TRY(bus.add_pio(Pit8254::kPortBase, Pit8254::kPortCount, Pit8254::counter_ports(pit_)));
  VESSEL_TRY(bus.add_pio(Pit8254::kPortControlB, 1, Pit8254::control_b_port(pit_)));
  VESSEL_TRY(bus.add_mmio(layout::kIoapicBase, Ioapic::kMmioSize, ioapic_));
  VESSEL_TRY(
      bus.add_mmio(layout::kLapicBase, Lapic::kMmioSize, std::make_shared<LapicWindow>(*this)));
  return ok_status();
}

}  // namespace vessel

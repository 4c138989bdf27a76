#include "irq/ioapic.h"

#include "devices/register_bytes.h"

namespace vessel {
namespace {

constexpr uint8_t kRegId = 0x00, kRegVersion = 0x01, kRegArbitration = 0x02, kRegRedirBase = 0x10;
// Bits a guest may write in an entry: everything but delivery status (12),
// Remote IRR (14) and reserved bits 55-17.
constexpr uint64_t kWritableMask = 0xFF00'0000'0001'AFFFull;

// The message redirection entry `entry` sends.
ApicMessage message_for(uint64_t entry, bool level) {
  ApicMessage m;
  m.vector = static_cast<uint8_t>(entry);
  m.mode = static_cast<DeliveryMode>((entry >> 8) & 7);
  m.logical = entry >> 11 & 1;
  m.level = level;
  m.dest = static_cast<uint32_t>(entry >> 56);
  return m;
}

}  // namespace

Ioapic::Ioapic(std::mutex& mu, uint8_t id, Deliver deliver)
    : mu_(mu), deliver_(std::move(deliver)), id_(id) {
  redir_.fill(kMasked);  // all pins masked at reset
}

uint32_t Ioapic::read_register_locked(uint8_t index) const {
  switch (index) {
    case kRegId:
    case kRegArbitration:
      return uint32_t{id_} << 24;
    case kRegVersion:
      return ((kPins - 1) << 16) | kVersion;
    default:
      break;
  }
  if (index >= kRegRedirBase && index < kRegRedirBase + 2 * kPins) {
    uint64_t entry = redir_[(index - kRegRedirBase) / 2];
    return static_cast<uint32_t>((index & 1) ? entry >> 32 : entry);
  }
  return 0;
}

void Ioapic::write_register_locked(uint8_t index, uint32_t value) {
  if (index == kRegId) {
    id_ = (value >> 24) & 0xF;
    return;
  }
  if (index < kRegRedirBase || index >= kRegRedirBase + 2 * kPins) return;  // read-only or none
  uint32_t pin = (index - kRegRedirBase) / 2;
  uint64_t entry = redir_[pin];
  uint64_t written = (index & 1) ? (entry & 0xFFFF'FFFFull) | (uint64_t{value} << 32)
                                 : (entry & 0xFFFF'FFFF'0000'0000ull) | value;
  entry = (entry & ~kWritableMask) | (written & kWritableMask);
  if (!(entry & kLevel)) entry &= ~kRemoteIrr;  // Remote IRR is undefined for edge pins
  redir_[pin] = entry;
  service_locked(pin);  // an unmasked level that stands is delivered now
}

void Ioapic::service_locked(uint32_t pin) {
  uint64_t entry = redir_[pin];
  if (!(entry & kLevel) || (entry & kMasked) || (entry & kRemoteIrr) || !(lines_ >> pin & 1))
    return;
  redir_[pin] |= kRemoteIrr;
  deliver_(message_for(entry, true));
}

void Ioapic::set_pin_locked(uint32_t pin, bool level) {
  if (pin >= kPins) return;
  bool was = lines_ >> pin & 1;
  if (level) {
    lines_ |= 1u << pin;
  } else {
    lines_ &= ~(1u << pin);
  }
  uint64_t entry = redir_[pin];
  if (entry & kLevel) {
    service_locked(pin);
    return;
  }
  if (!level || was || (entry & kMasked)) return;  // edge pins fire on a rising edge only
  deliver_(message_for(entry, false));
}

void Ioapic::eoi_locked(uint8_t vector) {
  for (uint32_t pin = 0; pin < kPins; pin++) {
    uint64_t entry = redir_[pin];
    if (!(entry & kLevel) || !(entry & kRemoteIrr) || static_cast<uint8_t>(entry) != vector)
      continue;
    redir_[pin] &= ~kRemoteIrr;
    service_locked(pin);  // the line is still high: interrupt again
  }
}

void Ioapic::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  uint32_t value = 0;
  uint64_t reg = offset & ~uint64_t{3};
  if (reg == kRegSelect) {
    value = select_;
  } else if (reg == kRegWindow) {
    value = read_register_locked(select_);
  }
  for (size_t i = 0; i < data.size(); i++) data[i] = byte_of(value, (offset & 3) + i);
}

void Ioapic::write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mu_);
  uint64_t reg = offset & ~uint64_t{3};
  if (reg == kRegSelect) {
    uint32_t value = select_;
    for (size_t i = 0; i < data.size(); i++) value = with_byte(value, (offset & 3) + i, data[i]);
    select_ = static_cast<uint8_t>(value);
  } else if (reg == kRegWindow) {
    uint32_t value = read_register_locked(select_);
    for (size_t i = 0; i < data.size(); i++) value = with_byte(value, (offset & 3) + i, data[i]);
    write_register_locked(select_, value);
  }
}

}  // namespace vessel

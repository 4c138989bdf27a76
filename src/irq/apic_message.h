// An interrupt message on the APIC bus (Intel SDM vol. 3 ch. 11): what the
// IOAPIC's redirection entries, MSIs and the local APIC's ICR send to local
// APICs, and the interface through which the local APICs reach the rest of
// the soft interrupt system.
#pragma once

#include <cstdint>

namespace vessel {

enum class DeliveryMode : uint8_t {
  kFixed = 0,
  kLowestPriority = 1,
  kSmi = 2,
  kNmi = 4,
  kInit = 5,
  kStartup = 6,
  kExtInt = 7,
};

enum class DestShorthand : uint8_t {
  kNone = 0,
  kSelf = 1,
  kAllIncludingSelf = 2,
  kAllExcludingSelf = 3
};

struct ApicMessage {
  uint8_t vector = 0;
  DeliveryMode mode = DeliveryMode::kFixed;
  bool logical = false;  // destination mode: false physical, true logical
  bool level = false;    // trigger mode: false edge, true level
  // Physical: an APIC id; logical: a mask/cluster as the LDR/DFR define it.
  // 8 bits from the IOAPIC, MSIs and xAPIC ICRs; 32 bits from x2APIC ICRs.
  uint32_t dest = 0;
  bool x2apic_dest = false;  // `dest` is a 32-bit x2APIC destination (broadcast 0xFFFFFFFF)
  DestShorthand shorthand = DestShorthand::kNone;
};

// The wiring a local APIC needs. Every method is called with the interrupt
// system's lock held (see lapic.h) and must not take it again.
class ApicBus {
 public:
  virtual ~ApicBus() = default;
  // An IPI from the local APIC with id `source_id` (shorthands resolved by the bus).
  virtual void send_ipi_locked(const ApicMessage& message, uint32_t source_id) = 0;
  // An EOI for a level-triggered vector: the IOAPIC clears Remote IRR of the
  // pins with that vector (broadcast EOI).
  virtual void eoi_broadcast_locked(uint8_t vector) = 0;
  // The 8259A's INTR output, and its interrupt-acknowledge cycle (returns the
  // vector, a spurious IR7 vector when nothing is pending).
  virtual bool ext_int_pending_locked() = 0;
  virtual uint8_t ext_int_peek_locked() = 0;
  virtual uint8_t ext_int_acknowledge_locked() = 0;
};

}  // namespace vessel

// The ACPI tables Vessel presents to a guest, built at start-up and written
// to layout::kAcpiTables..kAcpiTablesEnd: RSDP (revision 2) -> RSDT and XSDT
// -> FADT (6.0 layout, not hardware-reduced; -> FACS, DSDT), MADT and MCFG
// (PCI ECAM, boot/acpi_pci.h).
// The platform they describe is base/pc_layout.h's.
#pragma once

#include <cstdint>

#include "base/error.h"
#include "memory/guest_memory.h"

namespace vessel {

struct AcpiConfig {
  int cpus = 1;  // Local APIC IDs 0..cpus-1; the IOAPIC gets ID `cpus`
};

// Most CPUs the MADT can describe with (8-bit) Local APIC entries while
// leaving an ID for the IOAPIC below the broadcast ID 0xFF.
inline constexpr int kAcpiMaxCpus = 254;

// Writes the tables; returns the guest-physical address of the RSDP.
Expected<uint64_t> write_acpi_tables(GuestMemory& memory, const AcpiConfig& config);

}  // namespace vessel

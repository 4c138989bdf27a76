// ACPI's view of PCI: the MCFG table body (PCI Firmware Specification 3.0,
// 4.1.2) pointing at ECAM for bus 0, and the DSDT devices for the root
// bridge: \_SB.PCI0 (PNP0A08, compatible PNP0A03) with its _CRS (bus 0, the
// CF8-CFF consumer ports, the I/O windows around them, the 32-bit memory
// window of base/pc_layout.h) and a _PRT routing INTA-INTD of every slot to
// GSIs 16-19 as PciBus::intx_gsi does, and \_SB.MRES (PNP0C02) reserving the
// ECAM window so Linux accepts it ("reserved in ACPI motherboard resources").
#pragma once

#include <vector>

#include "boot/aml.h"

namespace vessel {

// The DSDT terms \_SB's scope holds for PCI: PCI0 and MRES.
std::vector<aml::Bytes> pci_dsdt_devices();

// The MCFG table's bytes after the 36-byte header: 8 reserved bytes and one
// 16-byte configuration space allocation (base, segment 0, buses 0-0).
std::vector<uint8_t> mcfg_body();

}  // namespace vessel

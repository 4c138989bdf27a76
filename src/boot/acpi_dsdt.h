// The DSDT's definition block body (AML term list): \_S5 for power-off
// through PM1a_CNT, a \_SB.COM1 device describing the first serial port, the
// PCI root bridge \_SB.PCI0 (see acpi_pci.h) and a motherboard resource
// device reserving the ECAM window.
#pragma once

#include "boot/aml.h"

namespace vessel {

aml::Bytes dsdt_aml();

}  // namespace vessel

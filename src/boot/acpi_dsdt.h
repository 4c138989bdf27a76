// The DSDT's definition block body (AML term list): \_S5 for power-off
// through PM1a_CNT and a \_SB.COM1 device describing the first serial port.
#pragma once

#include "boot/aml.h"

namespace vessel {

aml::Bytes dsdt_aml();

}  // namespace vessel

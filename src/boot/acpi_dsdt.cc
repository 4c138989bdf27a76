#include "boot/acpi_dsdt.h"

#include "base/pc_layout.h"
#include "boot/acpi_pci.h"

namespace vessel {

aml::Bytes dsdt_aml() {
  // Name (\_S5, Package (4) { SLP_TYPa, SLP_TYPb, reserved, reserved })
  aml::Bytes s5 = aml::name("\\_S5", aml::package({aml::integer(layout::kAcpiS5SlpTyp),
                                                   aml::integer(layout::kAcpiS5SlpTyp),
                                                   aml::integer(0), aml::integer(0)}));

  // Device (COM1) { _HID PNP0501, _UID 1, _CRS { IO 0x3F8-0x3FF, IRQ 4 } }
  constexpr uint8_t kUartPorts = 8;
  aml::Bytes com1 = aml::device(
      "COM1",
      {
          aml::name("_HID", aml::eisa_id("PNP0501")),
          aml::name("_UID", aml::integer(1)),
          aml::name("_CRS", aml::resource_template({
                                aml::io_port(layout::kPortCom1, layout::kPortCom1, 1, kUartPorts),
                                aml::irq_no_flags(layout::kIrqCom1),
                            })),
      });

  aml::Bytes out = s5;
  std::vector<aml::Bytes> devices = {com1};
  for (aml::Bytes& d : pci_dsdt_devices()) devices.push_back(std::move(d));
  aml::Bytes sb = aml::scope("\\_SB", devices);
  out.insert(out.end(), sb.begin(), sb.end());
  return out;
}

}  // namespace vessel

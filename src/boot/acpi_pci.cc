#include "boot/acpi_pci.h"

#include "base/pc_layout.h"
#include "boot/le_bytes.h"

namespace vessel {

namespace {

constexpr uint16_t kPciConfigPorts = 8;
constexpr uint32_t kSlots = 32;
constexpr uint32_t kMcfgReserved = 8, kMcfgAllocationSize = 16;
constexpr uint64_t kEcamBusSize = 1ull << 20;  // 32 devices x 8 functions x 4 KiB

// One _PRT entry: Package { Address (slot << 16 | 0xFFFF: any function),
// Pin (0 = INTA), Source (0: Source Index is a GSI), Source Index }.
aml::Bytes prt_entry(uint32_t slot, uint32_t pin) {
  return aml::package({aml::dword(slot << 16 | 0xFFFF), aml::integer(pin), aml::integer(0),
                       aml::integer(layout::pci_intx_gsi(slot, pin + 1u))});
}

}  // namespace

std::vector<aml::Bytes> pci_dsdt_devices() {
  constexpr uint16_t kPortsAfterConfig = layout::kPortPciConfig + kPciConfigPorts;
  aml::Bytes crs = aml::resource_template({
      aml::word_bus_number(0, 0),
      aml::io_port(layout::kPortPciConfig, layout::kPortPciConfig, 1, kPciConfigPorts),
      aml::word_io(0, layout::kPortPciConfig - 1),
      aml::word_io(kPortsAfterConfig, 0xFFFF),
      aml::dword_memory(static_cast<uint32_t>(layout::kPciMmioBase),
                        static_cast<uint32_t>(layout::kPciMmioEnd - 1)),
  });
  std::vector<aml::Bytes> prt;
  for (uint32_t slot = 0; slot < kSlots; slot++) {
    for (uint32_t pin = 0; pin < layout::kPciIntxLines; pin++) prt.push_back(prt_entry(slot, pin));
  }
  aml::Bytes pci0 = aml::device("PCI0", {
                                            aml::name("_HID", aml::eisa_id("PNP0A08")),
                                            aml::name("_CID", aml::eisa_id("PNP0A03")),
                                            aml::name("_ADR", aml::integer(0)),
                                            aml::name("_UID", aml::integer(0)),
                                            aml::name("_SEG", aml::integer(0)),
                                            aml::name("_BBN", aml::integer(0)),
                                            aml::name("_CRS", crs),
                                            aml::name("_PRT", aml::package(prt)),
                                        });
  aml::Bytes mres =
      aml::device("MRES", {
                              aml::name("_HID", aml::eisa_id("PNP0C02")),
                              aml::name("_UID", aml::integer(1)),
                              aml::name("_CRS", aml::resource_template({aml::memory32_fixed(
                                                    static_cast<uint32_t>(layout::kPciEcamBase),
                                                    static_cast<uint32_t>(layout::kPciEcamSize))})),
                          });
  return {pci0, mres};
}

std::vector<uint8_t> mcfg_body() {
  std::vector<uint8_t> body(kMcfgReserved + kMcfgAllocationSize, 0);
  size_t a = kMcfgReserved;
  put_le<uint64_t>(body, a, layout::kPciEcamBase);
  put_le<uint16_t>(body, a + 8, 0);  // PCI segment group
  body[a + 10] = 0;                  // start bus
  body[a + 11] = static_cast<uint8_t>(layout::kPciEcamSize / kEcamBusSize - 1);  // end bus
  return body;
}

}  // namespace vessel

#include "boot/acpi.h"

#include <span>
#include <string_view>
#include <vector>

#include "base/pc_layout.h"
#include "boot/acpi_dsdt.h"
#include "boot/acpi_pci.h"
#include "boot/le_bytes.h"

namespace vessel {

namespace {

// Offsets and values from the ACPI 6.x specification, chapter 5.2.
constexpr size_t kHeaderSize = 36;
constexpr size_t kHdrLength = 4, kHdrRevision = 8, kHdrChecksum = 9, kHdrOemId = 10,
                 kHdrOemTableId = 16, kHdrOemRevision = 24, kHdrCreatorId = 28,
                 kHdrCreatorRevision = 32;
constexpr std::string_view kOemId = "VESSEL";
constexpr std::string_view kOemTableId = "VESSELVM";
constexpr std::string_view kCreatorId = "VSSL";

// RSDP (5.2.5.3).
constexpr size_t kRsdpSize = 36, kRsdpV1Size = 20;
constexpr size_t kRsdpChecksum = 8, kRsdpOemId = 9, kRsdpRevision = 15, kRsdpRsdt = 16,
                 kRsdpLength = 20, kRsdpXsdt = 24, kRsdpExtChecksum = 32;

// FACS (5.2.10): 64 bytes, 64-byte aligned, no checksum.
constexpr size_t kFacsSize = 64, kFacsLength = 4, kFacsVersion = 32;

// FADT (5.2.9), revision 6 (ACPI 6.0), 276 bytes.
constexpr size_t kFadtSize = 276;
constexpr uint8_t kFadtRevision = 6, kFadtMinorRevision = 0;
constexpr size_t kFadtFirmwareCtrl = 36, kFadtDsdt = 40, kFadtSciInt = 46, kFadtSmiCmd = 48,
                 kFadtPm1aEvtBlk = 56, kFadtPm1aCntBlk = 64, kFadtPmTmrBlk = 76,
                 kFadtPm1EvtLen = 88, kFadtPm1CntLen = 89, kFadtPmTmrLen = 91, kFadtPLvl2Lat = 96,
                 kFadtPLvl3Lat = 98, kFadtIapcBootArch = 109, kFadtFlags = 112, kFadtResetReg = 116,
                 kFadtResetValue = 128, kFadtMinorVersion = 131, kFadtXFirmwareCtrl = 132,
                 kFadtXDsdt = 140, kFadtXPm1aEvtBlk = 148, kFadtXPm1aCntBlk = 172,
                 kFadtXPmTmrBlk = 208;
constexpr uint16_t kPLvl2NotSupported = 101, kPLvl3NotSupported = 1001;
constexpr uint16_t kBootArchLegacyDevices = 1 << 0, kBootArch8042 = 1 << 1, kBootArchNoVga = 1 << 2;
constexpr uint32_t kFadtWbinvd = 1 << 0, kFadtProcC1 = 1 << 2, kFadtSlpButton = 1 << 5,
                   kFadtResetRegSup = 1 << 10;
constexpr uint8_t kPm1EvtLen = 4, kPm1CntLen = 2, kPmTmrLen = 4;
constexpr uint8_t kResetValue = 0x06;  // CF9: full reset (bit 2 reset CPU, bit 1 system reset)

// Generic Address Structure (5.2.3.2).
constexpr uint8_t kGasSystemIo = 1;
constexpr uint8_t kAccessByte = 1, kAccessWord = 2, kAccessDword = 3;

// MADT (5.2.12).
constexpr uint8_t kMadtRevision = 4;
constexpr size_t kMadtLapicAddr = 36, kMadtFlags = 40, kMadtEntries = 44;
constexpr uint32_t kMadtPcatCompat = 1;
constexpr uint8_t kMadtLocalApic = 0, kMadtIoApic = 1, kMadtIntSrcOverride = 2;
constexpr uint8_t kLocalApicSize = 8, kIoApicSize = 12, kIntSrcOverrideSize = 10;
constexpr uint32_t kLocalApicEnabled = 1;
// MPS INTI flags: polarity bits 1-0 (01 active high), trigger mode bits 3-2 (01 edge, 11 level).
constexpr uint16_t kIntiActiveHigh = 0x1, kIntiEdge = 0x1 << 2, kIntiLevel = 0x3 << 2;
constexpr uint32_t kGsiPit = 2;

constexpr uint8_t kDsdtRevision = 2;  // 64-bit AML integers
constexpr uint8_t kMcfgRevision = 1;

uint8_t checksum(std::span<const uint8_t> bytes) {
  uint8_t sum = 0;
  for (uint8_t b : bytes) sum = static_cast<uint8_t>(sum + b);
  return static_cast<uint8_t>(-sum);
}

void put_chars(std::vector<uint8_t>& t, size_t off, std::string_view s) {
  for (size_t i = 0; i < s.size(); i++) t[off + i] = static_cast<uint8_t>(s[i]);
}

// A table with its standard header; finish() sets length and checksum.
std::vector<uint8_t> new_table(std::string_view signature, uint8_t revision, size_t size) {
  std::vector<uint8_t> t(size, 0);
  put_chars(t, 0, signature);
  t[kHdrRevision] = revision;
  put_chars(t, kHdrOemId, kOemId);
  put_chars(t, kHdrOemTableId, kOemTableId);
  put_le<uint32_t>(t, kHdrOemRevision, 1);
  put_chars(t, kHdrCreatorId, kCreatorId);
  put_le<uint32_t>(t, kHdrCreatorRevision, 1);
  return t;
}

void finish(std::vector<uint8_t>& t) {
  put_le<uint32_t>(t, kHdrLength, static_cast<uint32_t>(t.size()));
  t[kHdrChecksum] = 0;
  t[kHdrChecksum] = checksum(t);
}

void put_gas(std::vector<uint8_t>& t, size_t off, uint8_t bit_width, uint8_t access,
             uint64_t port) {
  t[off] = kGasSystemIo;
  t[off + 1] = bit_width;
  t[off + 2] = 0;
  t[off + 3] = access;
  put_le<uint64_t>(t, off + 4, port);
}

std::vector<uint8_t> build_fadt(uint64_t facs, uint64_t dsdt) {
  std::vector<uint8_t> t = new_table("FACP", kFadtRevision, kFadtSize);
  put_le<uint32_t>(t, kFadtFirmwareCtrl, static_cast<uint32_t>(facs));
  put_le<uint32_t>(t, kFadtDsdt, static_cast<uint32_t>(dsdt));
  put_le<uint16_t>(t, kFadtSciInt, layout::kIrqAcpiSci);
  put_le<uint32_t>(t, kFadtSmiCmd, layout::kPortAcpiSmiCmd);  // 0: ACPI always enabled
  put_le<uint32_t>(t, kFadtPm1aEvtBlk, layout::kPortAcpiPm1aEvt);
  put_le<uint32_t>(t, kFadtPm1aCntBlk, layout::kPortAcpiPm1aCnt);
  put_le<uint32_t>(t, kFadtPmTmrBlk, layout::kPortAcpiPmTmr);
  t[kFadtPm1EvtLen] = kPm1EvtLen;
  t[kFadtPm1CntLen] = kPm1CntLen;
  t[kFadtPmTmrLen] = kPmTmrLen;
  put_le<uint16_t>(t, kFadtPLvl2Lat, kPLvl2NotSupported);
  put_le<uint16_t>(t, kFadtPLvl3Lat, kPLvl3NotSupported);
  put_le<uint16_t>(t, kFadtIapcBootArch, kBootArchLegacyDevices | kBootArch8042 | kBootArchNoVga);
  // The PM timer is 24 bits wide: TMR_VAL_EXT stays clear.
  put_le<uint32_t>(t, kFadtFlags, kFadtWbinvd | kFadtProcC1 | kFadtSlpButton | kFadtResetRegSup);
  put_gas(t, kFadtResetReg, 8, kAccessByte, layout::kPortResetCf9);
  t[kFadtResetValue] = kResetValue;
  t[kFadtMinorVersion] = kFadtMinorRevision;
  put_le<uint64_t>(t, kFadtXFirmwareCtrl, facs);
  put_le<uint64_t>(t, kFadtXDsdt, dsdt);
  put_gas(t, kFadtXPm1aEvtBlk, kPm1EvtLen * 8, kAccessWord, layout::kPortAcpiPm1aEvt);
  put_gas(t, kFadtXPm1aCntBlk, kPm1CntLen * 8, kAccessWord, layout::kPortAcpiPm1aCnt);
  put_gas(t, kFadtXPmTmrBlk, kPmTmrLen * 8, kAccessDword, layout::kPortAcpiPmTmr);
  finish(t);
  return t;
}

std::vector<uint8_t> build_madt(int cpus) {
  std::vector<uint8_t> t = new_table("APIC", kMadtRevision, kMadtEntries);
  put_le<uint32_t>(t, kMadtLapicAddr, static_cast<uint32_t>(layout::kLapicBase));
  put_le<uint32_t>(t, kMadtFlags, kMadtPcatCompat);
  for (int i = 0; i < cpus; i++) {
    std::vector<uint8_t> e(kLocalApicSize, 0);
    e[0] = kMadtLocalApic;
    e[1] = kLocalApicSize;
    e[2] = static_cast<uint8_t>(i);  // ACPI processor UID
    e[3] = static_cast<uint8_t>(i);  // APIC ID
    put_le<uint32_t>(e, 4, kLocalApicEnabled);
    t.insert(t.end(), e.begin(), e.end());
  }
  std::vector<uint8_t> io(kIoApicSize, 0);
  io[0] = kMadtIoApic;
  io[1] = kIoApicSize;
  io[2] = static_cast<uint8_t>(cpus);  // IOAPIC ID
  put_le<uint32_t>(io, 4, static_cast<uint32_t>(layout::kIoapicBase));
  put_le<uint32_t>(io, 8, 0);  // GSI base
  t.insert(t.end(), io.begin(), io.end());

  struct Override {
    uint8_t irq;
    uint32_t gsi;
    uint16_t flags;
  };
  const Override overrides[] = {
      {static_cast<uint8_t>(layout::kIrqPit), kGsiPit, kIntiActiveHigh | kIntiEdge},
      {static_cast<uint8_t>(layout::kIrqAcpiSci), layout::kIrqAcpiSci,
       kIntiActiveHigh | kIntiLevel},
  };
  for (const Override& o : overrides) {
    std::vector<uint8_t> e(kIntSrcOverrideSize, 0);
    e[0] = kMadtIntSrcOverride;
    e[1] = kIntSrcOverrideSize;
    e[2] = 0;  // bus: ISA
    e[3] = o.irq;
    put_le<uint32_t>(e, 4, o.gsi);
    put_le<uint16_t>(e, 8, o.flags);
    t.insert(t.end(), e.begin(), e.end());
  }
  finish(t);
  return t;
}

std::vector<uint8_t> build_dsdt() {
  std::vector<uint8_t> t = new_table("DSDT", kDsdtRevision, kHeaderSize);
  aml::Bytes body = dsdt_aml();
  t.insert(t.end(), body.begin(), body.end());
  finish(t);
  return t;
}

std::vector<uint8_t> build_mcfg() {
  std::vector<uint8_t> t = new_table("MCFG", kMcfgRevision, kHeaderSize);
  std::vector<uint8_t> body = mcfg_body();
  t.insert(t.end(), body.begin(), body.end());
  finish(t);
  return t;
}

std::vector<uint8_t> build_facs() {
  std::vector<uint8_t> t(kFacsSize, 0);
  put_chars(t, 0, "FACS");
  put_le<uint32_t>(t, kFacsLength, kFacsSize);
  t[kFacsVersion] = 2;
  return t;
}

template <typename Entry>
std::vector<uint8_t> build_root_table(std::string_view signature,
                                      const std::vector<uint64_t>& tables) {
  std::vector<uint8_t> t = new_table(signature, 1, kHeaderSize + tables.size() * sizeof(Entry));
  for (size_t i = 0; i < tables.size(); i++) {
    put_le<Entry>(t, kHeaderSize + i * sizeof(Entry), static_cast<Entry>(tables[i]));
  }
  finish(t);
  return t;
}

std::vector<uint8_t> build_rsdp(uint64_t rsdt, uint64_t xsdt) {
  std::vector<uint8_t> r(kRsdpSize, 0);
  put_chars(r, 0, "RSD PTR ");
  put_chars(r, kRsdpOemId, kOemId);
  r[kRsdpRevision] = 2;
  put_le<uint32_t>(r, kRsdpRsdt, static_cast<uint32_t>(rsdt));
  put_le<uint32_t>(r, kRsdpLength, kRsdpSize);
  put_le<uint64_t>(r, kRsdpXsdt, xsdt);
  r[kRsdpChecksum] = checksum(std::span(r).first(kRsdpV1Size));
  r[kRsdpExtChecksum] = checksum(r);
  return r;
}

// Hands out addresses in the ACPI area.
class Placer {
 public:
  Expected<uint64_t> place(size_t size, uint64_t align) {
    uint64_t addr = (next_ + align - 1) & ~(align - 1);
    if (addr + size > layout::kAcpiTablesEnd) {
      return make_error("ACPI tables do not fit in {:#x}-{:#x}", layout::kAcpiTables,
                        layout::kAcpiTablesEnd);
    }
    next_ = addr + size;
    return addr;
  }

 private:
  uint64_t next_ = layout::kAcpiTables;
};

}  // namespace

Expected<uint64_t> write_acpi_tables(GuestMemory& memory, const AcpiConfig& config) {
  if (config.cpus < 1 || config.cpus > kAcpiMaxCpus) {
    return make_error("ACPI tables: {} CPUs requested, supported are 1 to {}", config.cpus,
                      kAcpiMaxCpus);
  }
  constexpr uint64_t kTableAlign = 16, kFacsAlign = 64;
  std::vector<uint8_t> dsdt = build_dsdt();
  std::vector<uint8_t> madt = build_madt(config.cpus);
  std::vector<uint8_t> facs = build_facs();
  std::vector<uint8_t> mcfg = build_mcfg();

  Placer placer;
  VESSEL_ASSIGN(uint64_t rsdp_addr, placer.place(kRsdpSize, kTableAlign));
  VESSEL_ASSIGN(uint64_t facs_addr, placer.place(facs.size(), kFacsAlign));
  VESSEL_ASSIGN(uint64_t dsdt_addr, placer.place(dsdt.size(), kTableAlign));
  VESSEL_ASSIGN(uint64_t madt_addr, placer.place(madt.size(), kTableAlign));
  std::vector<uint8_t> fadt = build_fadt(facs_addr, dsdt_addr);
  VESSEL_ASSIGN(uint64_t fadt_addr, placer.place(fadt.size(), kTableAlign));
  VESSEL_ASSIGN(uint64_t mcfg_addr, placer.place(mcfg.size(), kTableAlign));
  std::vector<uint64_t> roots = {fadt_addr, madt_addr, mcfg_addr};
  std::vector<uint8_t> rsdt = build_root_table<uint32_t>("RSDT", roots);
  std::vector<uint8_t> xsdt = build_root_table<uint64_t>("XSDT", roots);
  VESSEL_ASSIGN(uint64_t rsdt_addr, placer.place(rsdt.size(), kTableAlign));
  VESSEL_ASSIGN(uint64_t xsdt_addr, placer.place(xsdt.size(), kTableAlign));
  std::vector<uint8_t> rsdp = build_rsdp(rsdt_addr, xsdt_addr);

  const std::pair<uint64_t, const std::vector<uint8_t>*> writes[] = {
      {rsdp_addr, &rsdp}, {facs_addr, &facs}, {dsdt_addr, &dsdt}, {madt_addr, &madt},
      {fadt_addr, &fadt}, {mcfg_addr, &mcfg}, {rsdt_addr, &rsdt}, {xsdt_addr, &xsdt},
  };
  VESSEL_TRY(memory.fill(layout::kAcpiTables, 0, layout::kAcpiTablesEnd - layout::kAcpiTables));
  for (const auto& [addr, bytes] : writes) {
    VESSEL_TRY(memory.write(addr, bytes->data(), bytes->size()));
  }
  return rsdp_addr;
}

}  // namespace vessel

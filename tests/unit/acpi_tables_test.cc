#include <gtest/gtest.h>

#include <map>
#include <string>

#include "base/pc_layout.h"
#include "boot/acpi.h"
#include "boot/acpi_dsdt.h"
#include "boot_test_util.h"

namespace vessel {
namespace {

using test::Buf;
using test::guest;
using test::guest_bytes;

uint8_t sum(const Buf& b) {
  uint8_t s = 0;
  for (uint8_t x : b) s = static_cast<uint8_t>(s + x);
  return s;
}

std::string sig(const GuestMemory& m, uint64_t addr) {
  Buf b = guest_bytes(m, addr, 4);
  return std::string(b.begin(), b.end());
}

// A whole table by its header's length, after checking the checksum.
Buf table(const GuestMemory& m, uint64_t addr) {
  uint32_t len = guest<uint32_t>(m, addr + 4);
  EXPECT_GE(len, 36u);
  EXPECT_LE(addr + len, layout::kAcpiTablesEnd);
  Buf t = guest_bytes(m, addr, len);
  EXPECT_EQ(sum(t), 0) << "checksum of " << sig(m, addr);
  return t;
}

class AcpiTables : public ::testing::Test {
 protected:
  void write(int cpus) {
    mem = test::make_memory(16 << 20);
    auto r = write_acpi_tables(*mem, AcpiConfig{cpus});
    ASSERT_TRUE(r.ok()) << r.error().message;
    rsdp = *r;
    // Follow the XSDT to the tables it lists.
    uint64_t xsdt = guest<uint64_t>(*mem, rsdp + 24);
    Buf x = table(*mem, xsdt);
    for (size_t off = 36; off + 8 <= x.size(); off += 8) {
      uint64_t addr = test::peek<uint64_t>(x, off);
      tables[sig(*mem, addr)] = addr;
    }
  }
  std::unique_ptr<GuestMemory> mem;
  uint64_t rsdp = 0;
  std::map<std::string, uint64_t> tables;
};

TEST_F(AcpiTables, RsdpHasBothChecksumsAndPointsAtRootTables) {
  write(1);
  EXPECT_EQ(rsdp, layout::kAcpiTables);
  Buf r = guest_bytes(*mem, rsdp, 36);
  EXPECT_EQ(std::string(r.begin(), r.begin() + 8), "RSD PTR ");
  EXPECT_EQ(sum(Buf(r.begin(), r.begin() + 20)), 0);
  EXPECT_EQ(sum(r), 0);
  EXPECT_EQ(r[15], 2);                          // revision
  EXPECT_EQ(test::peek<uint32_t>(r, 20), 36u);  // length
  uint64_t xsdt = test::peek<uint64_t>(r, 24);
  uint32_t rsdt = test::peek<uint32_t>(r, 16);
  EXPECT_EQ(sig(*mem, xsdt), "XSDT");
  EXPECT_EQ(sig(*mem, rsdt), "RSDT");
  Buf rt = table(*mem, rsdt);
  ASSERT_EQ(rt.size(), 36u + 3 * 4);
  EXPECT_EQ(sig(*mem, test::peek<uint32_t>(rt, 36)), "FACP");
  EXPECT_EQ(sig(*mem, test::peek<uint32_t>(rt, 40)), "APIC");
  EXPECT_EQ(sig(*mem, test::peek<uint32_t>(rt, 44)), "MCFG");
}

TEST_F(AcpiTables, XsdtListsFadtMadtAndMcfg) {
  write(2);
  EXPECT_EQ(tables.size(), 3u);
  EXPECT_TRUE(tables.count("FACP"));
  EXPECT_TRUE(tables.count("APIC"));
  EXPECT_TRUE(tables.count("MCFG"));
}

TEST_F(AcpiTables, McfgPointsAtEcamForBusZero) {
  write(1);
  Buf m = table(*mem, tables["MCFG"]);  // checks the checksum
  ASSERT_EQ(m.size(), 36u + 8 + 16);
  EXPECT_EQ(m[8], 1);                          // revision
  EXPECT_EQ(test::peek<uint64_t>(m, 36), 0u);  // reserved
  EXPECT_EQ(test::peek<uint64_t>(m, 44), layout::kPciEcamBase);
  EXPECT_EQ(test::peek<uint16_t>(m, 52), 0u);  // segment group
  EXPECT_EQ(m[54], 0);                         // start bus
  EXPECT_EQ(m[55], 0);                         // end bus: 1 MiB is one bus
  EXPECT_EQ(test::peek<uint32_t>(m, 56), 0u);
  // The exact bytes of the allocation.
  const Buf alloc = {0x00, 0x00, 0x00, 0xE0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(Buf(m.begin() + 44, m.end()), alloc);
}

TEST_F(AcpiTables, DsdtCarriesPciRootBridgeAndEcamReservation) {
  write(1);
  Buf f = table(*mem, tables["FACP"]);
  Buf d = table(*mem, test::peek<uint32_t>(f, 40));
  auto has = [&](const Buf& needle) {
    return std::search(d.begin(), d.end(), needle.begin(), needle.end()) != d.end();
  };
  // Device (PCI0) and Name (_HID, EisaId ("PNP0A08")), _CID PNP0A03.
  EXPECT_TRUE(has({'P', 'C', 'I', '0', 0x08, '_', 'H', 'I', 'D', 0x0C, 0x41, 0xD0, 0x0A, 0x08}));
  EXPECT_TRUE(has({0x08, '_', 'C', 'I', 'D', 0x0C, 0x41, 0xD0, 0x0A, 0x03}));
  // WordBusNumber 0-0.
  EXPECT_TRUE(has({0x88, 0x0D, 0x00, 0x02, 0x0C, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00}));
  // IO (Decode16, 0xCF8, 0xCF8, 1, 8).
  EXPECT_TRUE(has({0x47, 0x01, 0xF8, 0x0C, 0xF8, 0x0C, 0x01, 0x08}));
  // WordIO 0x0D00-0xFFFF.
  EXPECT_TRUE(
      has({0x88, 0x0D, 0x00, 0x01, 0x0C, 0x03, 0, 0, 0x00, 0x0D, 0xFF, 0xFF, 0, 0, 0x00, 0xF3}));
  // DWordMemory over the 32-bit window.
  EXPECT_TRUE(has({0x87, 0x17, 0x00, 0x00, 0x0C, 0x01, 0, 0, 0, 0,    0x00, 0x00, 0x00,
                   0xC0, 0xFF, 0xFF, 0xFF, 0xCF, 0,    0, 0, 0, 0x00, 0x00, 0x00, 0x10}));
  // _PRT: slot 1 INTA -> GSI 17.
  EXPECT_TRUE(has({0x12, 0x0B, 0x04, 0x0C, 0xFF, 0xFF, 0x01, 0x00, 0x00, 0x00, 0x0A, 0x11}));
  // PNP0C02 with Memory32Fixed (ReadWrite, ECAM, 1 MiB).
  EXPECT_TRUE(has({0x08, '_', 'H', 'I', 'D', 0x0C, 0x41, 0xD0, 0x0C, 0x02}));
  EXPECT_TRUE(has({0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xE0, 0x00, 0x00, 0x10, 0x00}));
}

TEST_F(AcpiTables, FadtFieldsAtSpecOffsets) {
  write(1);
  Buf f = table(*mem, tables["FACP"]);
  ASSERT_EQ(f.size(), 276u);
  EXPECT_EQ(f[8], 6);  // revision
  EXPECT_EQ(test::peek<uint16_t>(f, 46), layout::kIrqAcpiSci);
  EXPECT_EQ(test::peek<uint32_t>(f, 48), 0u);  // SMI_CMD: ACPI always on
  EXPECT_EQ(test::peek<uint32_t>(f, 56), layout::kPortAcpiPm1aEvt);
  EXPECT_EQ(test::peek<uint32_t>(f, 64), layout::kPortAcpiPm1aCnt);
  EXPECT_EQ(test::peek<uint32_t>(f, 76), layout::kPortAcpiPmTmr);
  EXPECT_EQ(f[88], 4);                                 // PM1_EVT_LEN
  EXPECT_EQ(f[89], 2);                                 // PM1_CNT_LEN
  EXPECT_EQ(f[91], 4);                                 // PM_TMR_LEN
  EXPECT_EQ(test::peek<uint16_t>(f, 109) & 0x2, 0x2);  // 8042 present
  uint32_t flags = test::peek<uint32_t>(f, 112);
  EXPECT_TRUE(flags & (1 << 0));    // WBINVD
  EXPECT_TRUE(flags & (1 << 2));    // PROC_C1
  EXPECT_TRUE(flags & (1 << 5));    // SLP_BUTTON
  EXPECT_TRUE(flags & (1 << 10));   // RESET_REG_SUP
  EXPECT_FALSE(flags & (1 << 8));   // TMR_VAL_EXT: 24-bit timer
  EXPECT_FALSE(flags & (1 << 20));  // not hardware-reduced
  // RESET_REG: system I/O, 8 bits, port 0xCF9; RESET_VALUE 6.
  EXPECT_EQ(f[116], 1);
  EXPECT_EQ(f[117], 8);
  EXPECT_EQ(test::peek<uint64_t>(f, 120), 0xCF9u);
  EXPECT_EQ(f[128], 0x06);
  // X_PM1a_CNT_BLK: system I/O, 16 bits at 0x604.
  EXPECT_EQ(f[172], 1);
  EXPECT_EQ(f[173], 16);
  EXPECT_EQ(test::peek<uint64_t>(f, 176), layout::kPortAcpiPm1aCnt);
  EXPECT_EQ(test::peek<uint64_t>(f, 148 + 4), layout::kPortAcpiPm1aEvt);
  EXPECT_EQ(test::peek<uint64_t>(f, 208 + 4), layout::kPortAcpiPmTmr);
  // DSDT and X_DSDT agree; FACS likewise, 64-byte aligned.
  uint32_t dsdt = test::peek<uint32_t>(f, 40);
  EXPECT_EQ(test::peek<uint64_t>(f, 140), dsdt);
  EXPECT_EQ(sig(*mem, dsdt), "DSDT");
  uint32_t facs = test::peek<uint32_t>(f, 36);
  EXPECT_EQ(test::peek<uint64_t>(f, 132), facs);
  EXPECT_EQ(sig(*mem, facs), "FACS");
  EXPECT_EQ(facs % 64, 0u);
  EXPECT_EQ(guest<uint32_t>(*mem, facs + 4), 64u);
}

TEST_F(AcpiTables, DsdtCarriesS5AndCom1) {
  write(1);
  Buf f = table(*mem, tables["FACP"]);
  Buf d = table(*mem, test::peek<uint32_t>(f, 40));
  EXPECT_EQ(d.size(), 36 + dsdt_aml().size());
  EXPECT_EQ(d[8], 2);  // revision 2: 64-bit integers
  const Buf s5 = {0x08,
                  '\\',
                  '_',
                  'S',
                  '5',
                  '_',
                  0x12,
                  0x08,
                  0x04,
                  0x0A,
                  static_cast<uint8_t>(layout::kAcpiS5SlpTyp),
                  0x0A,
                  static_cast<uint8_t>(layout::kAcpiS5SlpTyp),
                  0x00,
                  0x00};
  EXPECT_NE(std::search(d.begin(), d.end(), s5.begin(), s5.end()), d.end());
  const Buf hid = {0x08, '_', 'H', 'I', 'D', 0x0C, 0x41, 0xD0, 0x05, 0x01};
  EXPECT_NE(std::search(d.begin(), d.end(), hid.begin(), hid.end()), d.end());
  const Buf io = {0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03};
  EXPECT_NE(std::search(d.begin(), d.end(), io.begin(), io.end()), d.end());
}

TEST_F(AcpiTables, MadtDescribesCpusIoapicAndOverrides) {
  constexpr int kCpus = 4;
  write(kCpus);
  Buf m = table(*mem, tables["APIC"]);
  EXPECT_EQ(test::peek<uint32_t>(m, 36), layout::kLapicBase);
  EXPECT_EQ(test::peek<uint32_t>(m, 40), 1u);  // PCAT_COMPAT
  int lapics = 0, ioapics = 0, overrides = 0, entries = 0;
  for (size_t off = 44; off < m.size();) {
    uint8_t type = m[off], len = m[off + 1];
    ASSERT_GE(len, 2);
    ASSERT_LE(off + len, m.size());
    entries++;
    if (type == 0) {
      EXPECT_EQ(len, 8);
      EXPECT_EQ(m[off + 3], lapics);  // APIC ID
      EXPECT_EQ(test::peek<uint32_t>(m, off + 4) & 1, 1u);
      lapics++;
    } else if (type == 1) {
      EXPECT_EQ(len, 12);
      EXPECT_EQ(m[off + 2], kCpus);
      EXPECT_EQ(test::peek<uint32_t>(m, off + 4), layout::kIoapicBase);
      EXPECT_EQ(test::peek<uint32_t>(m, off + 8), 0u);
      ioapics++;
    } else if (type == 2) {
      EXPECT_EQ(len, 10);
      uint8_t irq = m[off + 3];
      uint32_t gsi = test::peek<uint32_t>(m, off + 4);
      uint16_t flags = test::peek<uint16_t>(m, off + 8);
      if (irq == 0) {
        EXPECT_EQ(gsi, 2u);
        EXPECT_EQ(flags, 0x5);  // edge, active high
      } else {
        EXPECT_EQ(irq, layout::kIrqAcpiSci);
        EXPECT_EQ(gsi, layout::kIrqAcpiSci);
        EXPECT_EQ(flags, 0xD);  // level, active high
      }
      overrides++;
    }
    off += len;
  }
  EXPECT_EQ(lapics, kCpus);
  EXPECT_EQ(ioapics, 1);
  EXPECT_EQ(overrides, 2);
  EXPECT_EQ(entries, kCpus + 1 + 2);
}

TEST_F(AcpiTables, ManyCpusStillFit) {
  write(kAcpiMaxCpus);
  Buf m = table(*mem, tables["APIC"]);
  EXPECT_EQ(m.size(), 44u + kAcpiMaxCpus * 8 + 12 + 2 * 10);
}

TEST(AcpiTablesErrors, RejectsBadCpuCounts) {
  auto mem = test::make_memory(16 << 20);
  EXPECT_FALSE(write_acpi_tables(*mem, AcpiConfig{0}).ok());
  auto r = write_acpi_tables(*mem, AcpiConfig{kAcpiMaxCpus + 1});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("CPUs"), std::string::npos);
}

}  // namespace
}  // namespace vessel

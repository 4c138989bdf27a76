#include "boot/smbios.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "base/pc_layout.h"
#include "base/uuid.h"
#include "boot/loader.h"
#include "boot_test_util.h"

namespace vessel {
namespace {

using test::Buf;
using test::peek;

// One structure parsed back: formatted area and strings (numbered from 1).
struct Parsed {
  uint8_t type = 0;
  Buf area;
  std::vector<std::string> strings;
  size_t total = 0;  // bytes including the string set
  std::string str(size_t field) const {
    uint8_t n = area.at(field);
    if (n == 0) return "";
    EXPECT_LE(n, strings.size()) << "string number in field " << field;
    return n <= strings.size() ? strings[n - 1] : "";
  }
};

// Parses the structure at `off`; fails the test on a malformed one.
Parsed parse_one(const Buf& t, size_t off) {
  Parsed p;
  EXPECT_LE(off + 4, t.size());
  if (off + 4 > t.size()) return p;
  p.type = t[off];
  uint8_t len = t[off + 1];
  EXPECT_GE(len, 4);
  EXPECT_LE(off + len, t.size());
  p.area.assign(t.begin() + off, t.begin() + std::min(t.size(), off + len));
  size_t i = off + len;
  // The string set: NUL-terminated strings, then a NUL (two NULs when empty).
  if (i + 1 < t.size() && t[i] == 0 && t[i + 1] == 0) {
    p.total = len + 2;
    return p;
  }
  while (i < t.size() && t[i] != 0) {
    std::string s;
    while (i < t.size() && t[i] != 0) s.push_back(static_cast<char>(t[i++]));
    p.strings.push_back(s);
    i++;  // the string's NUL
  }
  EXPECT_LT(i, t.size()) << "string set runs off the table";
  p.total = i + 1 - off;
  return p;
}

std::vector<Parsed> parse_table(const Buf& t) {
  std::vector<Parsed> out;
  size_t off = 0;
  while (off < t.size()) {
    Parsed p = parse_one(t, off);
    if (p.total == 0) break;
    out.push_back(p);
    off += p.total;
    if (p.type == smbios::kTypeEnd) break;
  }
  EXPECT_EQ(off, t.size()) << "bytes after the end-of-table structure";
  return out;
}

uint8_t sum(const Buf& b) {
  uint8_t s = 0;
  for (uint8_t x : b) s = static_cast<uint8_t>(s + x);
  return s;
}

constexpr char kUuidText[] = "12345678-9abc-def0-1122-334455667788";

SmbiosConfig config(int cpus = 2, uint64_t ram = 256ull << 20) {
  SmbiosConfig c;
  c.uuid = *parse_uuid(kUuidText);
  c.cpus = cpus;
  c.ram_bytes = ram;
  c.version = "1.2.3";
  return c;
}

TEST(Uuid, ParsesCanonicalFormInEitherCase) {
  auto u = parse_uuid("12345678-9ABC-def0-1122-334455667788");
  ASSERT_TRUE(u.ok()) << u.error().message;
  Uuid want = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
               0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
  EXPECT_EQ(*u, want);
  EXPECT_EQ(format_uuid(*u), kUuidText);
}

TEST(Uuid, RejectsBadForms) {
  for (const char* bad :
       {"", "12345678", "12345678-9abc-def0-1122-33445566778",
        "12345678-9abc-def0-1122-3344556677889", "123456789abc-def0-1122-334455667788-",
        "12345678-9abc-def0-1122_334455667788", "1234567g-9abc-def0-1122-334455667788",
        "{2345678-9abc-def0-1122-33445566778}", "12345678 9abc def0 1122 334455667788"}) {
    auto u = parse_uuid(bad);
    EXPECT_FALSE(u.ok()) << bad;
    if (!u.ok()) {
      EXPECT_NE(u.error().message.find("not a UUID"), std::string::npos);
    }
  }
}

TEST(Uuid, RandomIsVersion4AndDiffers) {
  auto a = random_uuid(), b = random_uuid();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ((*a)[6] >> 4, 4);
  EXPECT_EQ((*a)[8] & 0xC0, 0x80);
  EXPECT_EQ(format_uuid(*a)[14], '4');
}

TEST(Smbios, UuidFirstThreeFieldsLittleEndian) {
  auto b = smbios::uuid_bytes(*parse_uuid(kUuidText));
  std::array<uint8_t, 16> want = {0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xf0, 0xde,
                                  0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
  EXPECT_EQ(b, want);
}

TEST(Smbios, EmptyStringSetIsTwoNuls) {
  Buf s = smbios::boot_information(7);
  ASSERT_EQ(s.size(), 0x0Bu + 2);
  EXPECT_EQ(s[0], smbios::kTypeBootInfo);
  EXPECT_EQ(s[1], 0x0B);
  EXPECT_EQ(peek<uint16_t>(s, 2), 7);
  EXPECT_EQ(s[0x0A], 0) << "boot status: no errors";
  EXPECT_EQ(s[0x0B], 0);
  EXPECT_EQ(s[0x0C], 0);
  Buf end = smbios::end_of_table(9);
  EXPECT_EQ(end, (Buf{127, 4, 9, 0, 0, 0}));
}

TEST(Smbios, BiosInformation) {
  Parsed p = parse_one(smbios::bios_information(0, config()), 0);
  EXPECT_EQ(p.type, 0);
  ASSERT_EQ(p.area.size(), 0x18u);
  EXPECT_EQ(p.str(0x04), "Vessel");
  EXPECT_EQ(p.str(0x05), "1.2.3");
  EXPECT_EQ(p.str(0x08), smbios::kReleaseDate);
  EXPECT_EQ(p.strings.size(), 3u);
  EXPECT_EQ(p.area[0x13] & 0x10, 0x10) << "virtual machine bit";
  EXPECT_EQ(p.area[0x14], 1);
  EXPECT_EQ(p.area[0x15], 2);
}

TEST(Smbios, SystemInformation) {
  Parsed p = parse_one(smbios::system_information(0x100, config()), 0);
  EXPECT_EQ(p.type, 1);
  ASSERT_EQ(p.area.size(), 0x1Bu);
  EXPECT_EQ(peek<uint16_t>(p.area, 2), 0x100);
  EXPECT_EQ(p.str(0x04), "Vessel");
  EXPECT_EQ(p.str(0x05), "Vessel Virtual Machine");
  EXPECT_EQ(p.str(0x06), "1.2.3");
  EXPECT_EQ(p.str(0x07), kUuidText);
  EXPECT_EQ(p.area[0x08], 0x78);
  EXPECT_EQ(p.area[0x0B], 0x12);
  EXPECT_EQ(p.area[0x0C], 0xbc);
  EXPECT_EQ(p.area[0x0E], 0xf0);
  EXPECT_EQ(p.area[0x10], 0x11);
  EXPECT_EQ(p.area[0x17], 0x88);
  EXPECT_EQ(p.area[0x18], 0x06) << "wake-up: power switch";
  EXPECT_EQ(p.area[0x19], 0) << "no SKU";
}

TEST(Smbios, ChassisProcessorAndMemory) {
  Parsed c = parse_one(smbios::system_enclosure(3), 0);
  EXPECT_EQ(c.type, 3);
  EXPECT_EQ(c.area[0x05], 0x01) << "type Other";
  EXPECT_EQ(c.str(0x04), "Vessel");

  Parsed cpu = parse_one(smbios::processor_information(0x405, 5), 0);
  EXPECT_EQ(cpu.type, 4);
  ASSERT_EQ(cpu.area.size(), 0x30u);
  EXPECT_EQ(cpu.str(0x04), "CPU 5");
  EXPECT_EQ(cpu.area[0x18], 0x41) << "populated, enabled";

  Parsed arr = parse_one(smbios::memory_array(0x1000, 256ull << 20), 0);
  EXPECT_EQ(peek<uint32_t>(arr.area, 0x07), 256u << 10) << "KiB";
  Parsed big = parse_one(smbios::memory_array(0x1000, 4ull << 40), 0);
  EXPECT_EQ(peek<uint32_t>(big.area, 0x07), 0x80000000u);
  EXPECT_EQ(peek<uint64_t>(big.area, 0x0F), 4ull << 40);

  Parsed dev = parse_one(smbios::memory_device(0x1100, 0x1000, 256ull << 20), 0);
  EXPECT_EQ(dev.type, 17);
  EXPECT_EQ(peek<uint16_t>(dev.area, 0x04), 0x1000);
  EXPECT_EQ(peek<uint16_t>(dev.area, 0x0C), 256);
  EXPECT_EQ(dev.str(0x10), "DIMM 0");
  Parsed dev_big = parse_one(smbios::memory_device(0x1100, 0x1000, 64ull << 30), 0);
  EXPECT_EQ(peek<uint16_t>(dev_big.area, 0x0C), 0x7FFF);
  EXPECT_EQ(peek<uint32_t>(dev_big.area, 0x1C), 64u << 10);
}

class SmbiosInMemory : public ::testing::Test {
 protected:
  void write(const SmbiosConfig& c) {
    mem = test::make_memory(16 << 20);
    ASSERT_TRUE(write_smbios_tables(*mem, c).ok());
    // Scan like Linux does: 16-byte boundaries in 0xF0000-0xFFFFF.
    for (uint64_t a = 0xF0000; a < 0x100000; a += 16) {
      Buf anchor = test::guest_bytes(*mem, a, 5);
      if (std::string(anchor.begin(), anchor.end()) == "_SM3_") {
        entry_addr = a;
        break;
      }
    }
    ASSERT_NE(entry_addr, 0u) << "no _SM3_ anchor";
    entry = test::guest_bytes(*mem, entry_addr, 24);
    uint64_t table_addr = peek<uint64_t>(entry, 0x10);
    uint32_t table_len = peek<uint32_t>(entry, 0x0C);
    ASSERT_GE(table_addr, entry_addr + 24);
    ASSERT_LE(table_addr + table_len, layout::kSmbiosEnd);
    table = test::guest_bytes(*mem, table_addr, table_len);
    structures = parse_table(table);
  }
  std::unique_ptr<GuestMemory> mem;
  uint64_t entry_addr = 0;
  Buf entry, table;
  std::vector<Parsed> structures;
};

TEST_F(SmbiosInMemory, EntryPointChecksumVersionAndTable) {
  write(config(2));
  EXPECT_EQ(entry_addr, layout::kSmbios);
  EXPECT_EQ(entry[0x06], 24);
  EXPECT_EQ(sum(entry), 0);
  EXPECT_EQ(entry[0x07], 3);
  EXPECT_EQ(entry[0x08], 0);
  EXPECT_EQ(entry[0x0A], 1);
  std::vector<uint8_t> types;
  std::map<uint16_t, int> handles;
  for (const Parsed& p : structures) {
    types.push_back(p.type);
    handles[peek<uint16_t>(p.area, 2)]++;
  }
  EXPECT_EQ(types, (std::vector<uint8_t>{0, 1, 3, 4, 4, 16, 17, 32, 127}));
  for (auto [h, n] : handles) EXPECT_EQ(n, 1) << "handle " << h << " is used twice";
  EXPECT_EQ(structures[1].str(0x05), "Vessel Virtual Machine");
  EXPECT_EQ(structures[4].str(0x04), "CPU 1");
}

TEST_F(SmbiosInMemory, ManyCpusFitAndBadCountsFail) {
  write(config(254, 64ull << 30));
  EXPECT_EQ(structures.size(), 254u + 7);  // types 0, 1, 3, 16, 17, 32, 127
  EXPECT_EQ(sum(entry), 0);
  auto m = test::make_memory(16 << 20);
  EXPECT_FALSE(write_smbios_tables(*m, config(0)).ok());
  EXPECT_FALSE(write_smbios_tables(*m, config(100000)).ok());
}

// The system UUID as load_kernel wrote it (type 1 is the second structure).
std::array<uint8_t, 16> loaded_uuid(const std::optional<Uuid>& uuid, int cpus) {
  test::TempFile kernel(Buf{0xF4});  // hlt
  BootSpec spec;
  spec.kernel_path = kernel.path();
  spec.format = KernelFormat::kFlat;
  spec.cpus = cpus;
  spec.uuid = uuid;
  auto mem = test::make_memory(16 << 20);
  auto image = load_kernel(*mem, spec);
  EXPECT_TRUE(image.ok()) << image.error().message;
  Buf entry = test::guest_bytes(*mem, layout::kSmbios, 24);
  EXPECT_EQ(std::string(entry.begin(), entry.begin() + 5), "_SM3_");
  EXPECT_EQ(sum(entry), 0);
  Buf table = test::guest_bytes(*mem, peek<uint64_t>(entry, 0x10), peek<uint32_t>(entry, 0x0C));
  std::vector<Parsed> s = parse_table(table);
  EXPECT_EQ(s.size(), 7u + cpus);
  std::array<uint8_t, 16> out{};
  if (s.size() > 1 && s[1].area.size() >= 0x18) {
    std::copy(s[1].area.begin() + 8, s[1].area.begin() + 0x18, out.begin());
  }
  return out;
}

TEST(SmbiosLoader, LoadKernelWritesTheGivenUuidOrARandomOne) {
  Uuid given = *parse_uuid(kUuidText);
  EXPECT_EQ(loaded_uuid(given, 3), smbios::uuid_bytes(given));
  auto a = loaded_uuid(std::nullopt, 1), b = loaded_uuid(std::nullopt, 1);
  EXPECT_NE(a, b) << "no --uuid: a random UUID each run";
  EXPECT_EQ(a[7] >> 4, 4) << "version 4 (byte 7 after the little-endian swap)";
}

}  // namespace
}  // namespace vessel

#include "boot/smbios.h"

#include <charconv>
#include <string_view>

#include "base/pc_layout.h"
#include "boot/le_bytes.h"

namespace vessel::smbios {

namespace {

// One structure: a formatted area of a fixed length (header: type, length,
// handle) and its string set. Strings are numbered from 1; an empty string is
// not stored and its field holds 0 ("no string").
class Structure {
 public:
  Structure(uint8_t type, uint8_t length, uint16_t handle) : area_(length, 0) {
    area_[0] = type;
    area_[1] = length;
    put_le<uint16_t>(area_, 2, handle);
  }
  template <typename T>
  void set(size_t offset, T value) {
    put_le<T>(area_, offset, value);
  }
  void set_string(size_t offset, std::string_view s) {
    if (s.empty()) {
      area_[offset] = 0;
      return;
    }
    strings_.insert(strings_.end(), s.begin(), s.end());
    strings_.push_back(0);
    area_[offset] = ++string_count_;
  }
  void set_bytes(size_t offset, std::span<const uint8_t> bytes) {
    for (size_t i = 0; i < bytes.size(); i++) area_[offset + i] = bytes[i];
  }
  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> out = area_;
    out.insert(out.end(), strings_.begin(), strings_.end());
    if (string_count_ == 0) out.push_back(0);  // an empty string set is two NULs
    out.push_back(0);
    return out;
  }

 private:
  std::vector<uint8_t> area_;
  std::vector<uint8_t> strings_;
  uint8_t string_count_ = 0;
};

// Major and minor number of a "MAJOR.MINOR[.PATCH]" version, 0 where absent.
std::pair<uint8_t, uint8_t> major_minor(std::string_view version) {
  uint8_t major = 0, minor = 0;
  auto [p, ec] = std::from_chars(version.data(), version.data() + version.size(), major);
  if (ec == std::errc() && p < version.data() + version.size() && *p == '.') {
    std::from_chars(p + 1, version.data() + version.size(), minor);
  }
  return {major, minor};
}

uint8_t checksum(std::span<const uint8_t> bytes) {
  uint8_t sum = 0;
  for (uint8_t b : bytes) sum = static_cast<uint8_t>(sum + b);
  return static_cast<uint8_t>(-sum);
}

constexpr uint16_t kNoHandle = 0xFFFF;       // "no structure" for cache handles
constexpr uint16_t kNoErrorHandle = 0xFFFE;  // "error information not provided"

}  // namespace

std::array<uint8_t, 16> uuid_bytes(const Uuid& u) {
  return {u[3], u[2], u[1],  u[0],  u[5],  u[4],  u[7],  u[6],
          u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]};
}

// Type 0 (DSP0134 7.1), the 2.4+ layout.
std::vector<uint8_t> bios_information(uint16_t handle, const SmbiosConfig& config) {
  constexpr uint64_t kPciSupported = 1ull << 7;
  constexpr uint8_t kExt1Acpi = 1 << 0, kExt2VirtualMachine = 1 << 4;
  constexpr uint16_t kBiosSegment = 0xF000;  // the 64 KiB below 1 MiB
  Structure s(kTypeBios, 0x18, handle);
  s.set_string(0x04, kVendor);
  s.set_string(0x05, config.version);
  s.set<uint16_t>(0x06, kBiosSegment);
  s.set_string(0x08, kReleaseDate);
  s.set<uint8_t>(0x09, 0);  // ROM size 64 KiB * (n + 1)
  s.set<uint64_t>(0x0A, kPciSupported);
  s.set<uint8_t>(0x12, kExt1Acpi);
  s.set<uint8_t>(0x13, kExt2VirtualMachine);
  auto [major, minor] = major_minor(config.version);
  s.set<uint8_t>(0x14, major);
  s.set<uint8_t>(0x15, minor);
  s.set<uint8_t>(0x16, 0xFF);  // no embedded controller firmware
  s.set<uint8_t>(0x17, 0xFF);
  return s.bytes();
}

// Type 1 (7.2), the 2.4+ layout.
std::vector<uint8_t> system_information(uint16_t handle, const SmbiosConfig& config) {
  constexpr uint8_t kWakeUpPowerSwitch = 0x06;
  Structure s(kTypeSystem, 0x1B, handle);
  s.set_string(0x04, kVendor);
  s.set_string(0x05, kProductName);
  s.set_string(0x06, config.version);
  s.set_string(0x07, format_uuid(config.uuid));  // serial number
  s.set_bytes(0x08, uuid_bytes(config.uuid));
  s.set<uint8_t>(0x18, kWakeUpPowerSwitch);
  s.set_string(0x19, "");                 // SKU number
  s.set_string(0x1A, "Virtual Machine");  // family
  return s.bytes();
}

// Type 3 (7.4), the 2.7+ layout with no contained elements.
std::vector<uint8_t> system_enclosure(uint16_t handle) {
  constexpr uint8_t kTypeOther = 0x01, kStateSafe = 0x03, kSecurityNone = 0x03;
  Structure s(kTypeChassis, 0x16, handle);
  s.set_string(0x04, kVendor);
  s.set<uint8_t>(0x05, kTypeOther);
  s.set<uint8_t>(0x09, kStateSafe);  // boot-up state
  s.set<uint8_t>(0x0A, kStateSafe);  // power supply state
  s.set<uint8_t>(0x0B, kStateSafe);  // thermal state
  s.set<uint8_t>(0x0C, kSecurityNone);
  s.set<uint8_t>(0x13, 0);  // contained element count
  s.set<uint8_t>(0x14, 3);  // contained element record length
  s.set_string(0x15, "");   // SKU number
  return s.bytes();
}

// Type 4 (7.5), the 3.0 layout: one socket with one core and one thread.
std::vector<uint8_t> processor_information(uint16_t handle, int cpu) {
  constexpr uint8_t kCentralProcessor = 0x03, kFamilyOther = 0x01, kUpgradeOther = 0x01;
  constexpr uint8_t kPopulatedEnabled = 0x41;  // bit 6 socket populated, 1: CPU enabled
  constexpr uint16_t k64BitCapable = 1 << 2;
  Structure s(kTypeProcessor, 0x30, handle);
  s.set_string(0x04, fmt::format("CPU {}", cpu));
  s.set<uint8_t>(0x05, kCentralProcessor);
  s.set<uint8_t>(0x06, kFamilyOther);
  s.set_string(0x07, kVendor);
  s.set_string(0x10, "Vessel vCPU");
  s.set<uint8_t>(0x18, kPopulatedEnabled);
  s.set<uint8_t>(0x19, kUpgradeOther);
  s.set<uint16_t>(0x1A, kNoHandle);  // L1, L2, L3 cache
  s.set<uint16_t>(0x1C, kNoHandle);
  s.set<uint16_t>(0x1E, kNoHandle);
  s.set<uint8_t>(0x23, 1);  // core count, cores enabled, thread count
  s.set<uint8_t>(0x24, 1);
  s.set<uint8_t>(0x25, 1);
  s.set<uint16_t>(0x26, k64BitCapable);
  s.set<uint16_t>(0x28, kFamilyOther);
  s.set<uint16_t>(0x2A, 1);
  s.set<uint16_t>(0x2C, 1);
  s.set<uint16_t>(0x2E, 1);
  return s.bytes();
}

// Type 16 (7.17), the 2.7+ layout.
std::vector<uint8_t> memory_array(uint16_t handle, uint64_t ram_bytes) {
  constexpr uint8_t kLocationSystemBoard = 0x03, kUseSystemMemory = 0x03, kNoCorrection = 0x03;
  constexpr uint32_t kUseExtended = 0x8000'0000;  // capacity in KiB, or look at the extended field
  Structure s(kTypeMemoryArray, 0x17, handle);
  s.set<uint8_t>(0x04, kLocationSystemBoard);
  s.set<uint8_t>(0x05, kUseSystemMemory);
  s.set<uint8_t>(0x06, kNoCorrection);
  uint64_t kib = ram_bytes >> 10;
  if (kib < kUseExtended) {
    s.set<uint32_t>(0x07, static_cast<uint32_t>(kib));
  } else {
    s.set<uint32_t>(0x07, kUseExtended);
    s.set<uint64_t>(0x0F, ram_bytes);
  }
  s.set<uint16_t>(0x0B, kNoErrorHandle);
  s.set<uint16_t>(0x0D, 1);  // memory devices
  return s.bytes();
}

// Type 17 (7.18), the 3.0 (2.8) layout.
std::vector<uint8_t> memory_device(uint16_t handle, uint16_t array_handle, uint64_t ram_bytes) {
  constexpr uint8_t kFormDimm = 0x09, kTypeRam = 0x07;
  constexpr uint16_t kDetailOther = 1 << 1;
  constexpr uint16_t kSizeInKib = 0x8000, kSizeExtended = 0x7FFF, kUnknownWidth = 0xFFFF;
  Structure s(kTypeMemoryDevice, 0x28, handle);
  s.set<uint16_t>(0x04, array_handle);
  s.set<uint16_t>(0x06, kNoErrorHandle);
  s.set<uint16_t>(0x08, kUnknownWidth);
  s.set<uint16_t>(0x0A, kUnknownWidth);
  uint64_t mib = ram_bytes >> 20;
  if (mib == 0) {
    s.set<uint16_t>(0x0C, static_cast<uint16_t>(kSizeInKib | (ram_bytes >> 10)));
  } else if (mib < kSizeExtended) {
    s.set<uint16_t>(0x0C, static_cast<uint16_t>(mib));
  } else {
    s.set<uint16_t>(0x0C, kSizeExtended);
    s.set<uint32_t>(0x1C, static_cast<uint32_t>(std::min<uint64_t>(mib, 0x7FFF'FFFF)));
  }
  s.set<uint8_t>(0x0E, kFormDimm);
  s.set_string(0x10, "DIMM 0");  // device locator
  s.set<uint8_t>(0x12, kTypeRam);
  s.set<uint16_t>(0x13, kDetailOther);
  s.set_string(0x17, kVendor);  // manufacturer
  return s.bytes();
}

// Type 32 (7.33): reserved bytes, then boot status 0 ("no errors detected").
std::vector<uint8_t> boot_information(uint16_t handle) {
  return Structure(kTypeBootInfo, 0x0B, handle).bytes();
}

// Type 127 (7.46).
std::vector<uint8_t> end_of_table(uint16_t handle) {
  return Structure(kTypeEnd, 4, handle).bytes();
}

std::vector<uint8_t> structure_table(const SmbiosConfig& config) {
  constexpr uint16_t kBiosHandle = 0x0000, kSystemHandle = 0x0100, kChassisHandle = 0x0300,
                     kCpuHandle = 0x0400, kArrayHandle = 0x1000, kDeviceHandle = 0x1100,
                     kBootHandle = 0x2000, kEndHandle = 0x7F00;
  std::vector<uint8_t> t;
  auto add = [&t](const std::vector<uint8_t>& s) { t.insert(t.end(), s.begin(), s.end()); };
  add(bios_information(kBiosHandle, config));
  add(system_information(kSystemHandle, config));
  add(system_enclosure(kChassisHandle));
  for (int i = 0; i < config.cpus; i++) {
    add(processor_information(static_cast<uint16_t>(kCpuHandle + i), i));
  }
  add(memory_array(kArrayHandle, config.ram_bytes));
  add(memory_device(kDeviceHandle, kArrayHandle, config.ram_bytes));
  add(boot_information(kBootHandle));
  add(end_of_table(kEndHandle));
  return t;
}

// The SMBIOS 3.0 (64-bit) entry point (DSP0134 5.2.2).
std::vector<uint8_t> entry_point(uint64_t table_addr, uint32_t table_size) {
  constexpr uint8_t kEntryPointRevision = 0x01;
  std::vector<uint8_t> e(kEntryPointSize, 0);
  constexpr std::string_view kAnchor = "_SM3_";
  for (size_t i = 0; i < kAnchor.size(); i++) e[i] = static_cast<uint8_t>(kAnchor[i]);
  e[0x06] = kEntryPointSize;
  e[0x07] = kMajor;
  e[0x08] = kMinor;
  e[0x09] = kDocRev;
  e[0x0A] = kEntryPointRevision;
  put_le<uint32_t>(e, 0x0C, table_size);  // structure table maximum size
  put_le<uint64_t>(e, 0x10, table_addr);
  e[0x05] = checksum(e);
  return e;
}

}  // namespace vessel::smbios

namespace vessel {

Status write_smbios_tables(GuestMemory& memory, const SmbiosConfig& config) {
  constexpr int kMaxCpus = 0x1000 - 1;  // handles 0x0400.. stay below the memory array's
  if (config.cpus < 1 || config.cpus > kMaxCpus) {
    return make_error("SMBIOS tables: {} CPUs requested, supported are 1 to {}", config.cpus,
                      kMaxCpus);
  }
  constexpr uint64_t kTableOffset = 0x20;  // after the entry point, 16-byte aligned
  std::vector<uint8_t> table = smbios::structure_table(config);
  uint64_t table_addr = layout::kSmbios + kTableOffset;
  if (table.size() > layout::kSmbiosEnd - table_addr) {
    return make_error("SMBIOS tables ({} bytes) do not fit in {:#x}-{:#x}", table.size(),
                      table_addr, layout::kSmbiosEnd);
  }
  std::vector<uint8_t> entry = smbios::entry_point(table_addr, static_cast<uint32_t>(table.size()));
  VESSEL_TRY(memory.fill(layout::kSmbios, 0, layout::kSmbiosEnd - layout::kSmbios));
  VESSEL_TRY(memory.write(layout::kSmbios, entry.data(), entry.size()));
  return memory.write(table_addr, table.data(), table.size());
}

}  // namespace vessel

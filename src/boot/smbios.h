// The SMBIOS tables (DMTF DSP0134, version 3.0) Vessel presents to a guest, so
// that dmidecode, /sys/class/dmi/id and virt-what can tell what it runs on.
// A 64-bit ("_SM3_") entry point at layout::kSmbios, where a kernel without
// EFI finds it by scanning 0xF0000-0xFFFFF on 16-byte boundaries, and the
// structure table right after it:
//   type 0   BIOS information (vendor "Vessel", the project version)
//   type 1   system information (manufacturer, product name, UUID)
//   type 3   system enclosure (type "Other")
//   type 4   processor information, one per vCPU
//   type 16  physical memory array, type 17 one memory device with all RAM
//   type 32  system boot information (no errors)
//   type 127 end of table
// Each builder returns one whole structure: its formatted area and its string
// set (the strings, each NUL-terminated, then a NUL; two NULs when none).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/uuid.h"
#include "memory/guest_memory.h"

namespace vessel {

struct SmbiosConfig {
  Uuid uuid{};             // the system UUID (type 1), canonical byte order
  int cpus = 1;            // type 4 structures
  uint64_t ram_bytes = 0;  // types 16 and 17
  std::string version = VESSEL_VERSION;
};

namespace smbios {

inline constexpr uint8_t kMajor = 3, kMinor = 0, kDocRev = 0;
inline constexpr size_t kEntryPointSize = 24;
inline constexpr std::string_view kVendor = "Vessel";
inline constexpr std::string_view kProductName = "Vessel Virtual Machine";
inline constexpr std::string_view kReleaseDate = "12/01/2026";  // mm/dd/yyyy

// Structure types.
inline constexpr uint8_t kTypeBios = 0, kTypeSystem = 1, kTypeChassis = 3, kTypeProcessor = 4,
                         kTypeMemoryArray = 16, kTypeMemoryDevice = 17, kTypeBootInfo = 32,
                         kTypeEnd = 127;

// The UUID as SMBIOS 2.6+ stores it: time_low, time_mid and
// time_hi_and_version little-endian, the other 8 bytes as they are.
std::array<uint8_t, 16> uuid_bytes(const Uuid& uuid);

std::vector<uint8_t> bios_information(uint16_t handle, const SmbiosConfig& config);
std::vector<uint8_t> system_information(uint16_t handle, const SmbiosConfig& config);
std::vector<uint8_t> system_enclosure(uint16_t handle);
std::vector<uint8_t> processor_information(uint16_t handle, int cpu);
std::vector<uint8_t> memory_array(uint16_t handle, uint64_t ram_bytes);
std::vector<uint8_t> memory_device(uint16_t handle, uint16_t array_handle, uint64_t ram_bytes);
std::vector<uint8_t> boot_information(uint16_t handle);
std::vector<uint8_t> end_of_table(uint16_t handle);

// All structures, in the order above.
std::vector<uint8_t> structure_table(const SmbiosConfig& config);

// The 24-byte SMBIOS 3.0 entry point for a table of `table_size` bytes at
// `table_addr`, checksummed.
std::vector<uint8_t> entry_point(uint64_t table_addr, uint32_t table_size);

}  // namespace smbios

// Writes the entry point at layout::kSmbios and the table after it; fails if
// the CPU count is out of range or the tables do not fit below 1 MiB.
Status write_smbios_tables(GuestMemory& memory, const SmbiosConfig& config);

}  // namespace vessel

// Offsets and flags of Linux's x86 boot protocol (Documentation/arch/x86/
// boot.rst and zero-page.rst): the setup header, at the same offsets in the
// bzImage file and in struct boot_params (the 4 KiB "zero page").
#pragma once

#include <cstddef>
#include <cstdint>

namespace vessel::linux_boot {

inline constexpr size_t kZeroPageSize = 4096;

// struct boot_params fields outside the setup header.
inline constexpr size_t kAcpiRsdpAddr = 0x070;     // u64, protocol 2.14+
inline constexpr size_t kExtRamdiskImage = 0x0c0;  // u32, high 32 bits of ramdisk_image
inline constexpr size_t kExtRamdiskSize = 0x0c4;   // u32
inline constexpr size_t kExtCmdLinePtr = 0x0c8;    // u32
inline constexpr size_t kE820Entries = 0x1e8;      // u8
inline constexpr size_t kE820Table = 0x2d0;        // struct boot_e820_entry[128]
inline constexpr size_t kE820EntrySize = 20;       // u64 addr, u64 size, u32 type
inline constexpr size_t kE820MaxEntries = 128;

// The setup header (struct setup_header) starts at 0x1f1; it ends at
// 0x202 + the byte at 0x201 (the jump's displacement), and at most where the
// next boot_params field begins.
inline constexpr size_t kSetupHeader = 0x1f1;
inline constexpr size_t kSetupHeaderLimit = 0x290;
inline constexpr size_t kSetupSects = 0x1f1;         // u8, 0 means 4
inline constexpr size_t kJump = 0x200;               // u16
inline constexpr size_t kHeaderMagic = 0x202;        // u32 "HdrS"
inline constexpr size_t kVersion = 0x206;            // u16
inline constexpr size_t kTypeOfLoader = 0x210;       // u8
inline constexpr size_t kLoadFlags = 0x211;          // u8
inline constexpr size_t kCode32Start = 0x214;        // u32
inline constexpr size_t kRamdiskImage = 0x218;       // u32
inline constexpr size_t kRamdiskSize = 0x21c;        // u32
inline constexpr size_t kHeapEndPtr = 0x224;         // u16
inline constexpr size_t kCmdLinePtr = 0x228;         // u32
inline constexpr size_t kInitrdAddrMax = 0x22c;      // u32
inline constexpr size_t kKernelAlignment = 0x230;    // u32
inline constexpr size_t kRelocatableKernel = 0x234;  // u8
inline constexpr size_t kXLoadFlags = 0x236;         // u16
inline constexpr size_t kCmdlineSize = 0x238;        // u32
inline constexpr size_t kHardwareSubarch = 0x23c;    // u32
inline constexpr size_t kPayloadOffset = 0x248;      // u32, from the protected-mode code
inline constexpr size_t kPayloadLength = 0x24c;      // u32
inline constexpr size_t kSetupData = 0x250;          // u64, physical address of a setup_data list
inline constexpr size_t kPrefAddress = 0x258;        // u64
inline constexpr size_t kInitSize = 0x260;           // u32
inline constexpr size_t kInitSizeEnd = 0x264;        // the header must reach at least this far

inline constexpr uint32_t kHeaderMagicValue = 0x53726448;  // "HdrS"
inline constexpr uint16_t kMinVersion = 0x020C;            // 2.12: xloadflags
inline constexpr uint8_t kLoaderUndefined = 0xFF;          // type_of_loader: none assigned
inline constexpr uint32_t kSubarchPc = 0;                  // hardware_subarch: a normal PC
inline constexpr uint8_t kLoadedHigh = 1 << 0;             // loadflags
inline constexpr uint8_t kCanUseHeap = 1 << 7;
inline constexpr uint16_t kXlfKernel64 = 1 << 0;  // xloadflags
inline constexpr uint16_t kHeapEnd = 0xFE00;  // end of the setup heap, relative to setup, - 0x200
inline constexpr uint64_t kStartup64Offset = 0x200;  // 64-bit entry from the load address
inline constexpr size_t kSectorSize = 512;

}  // namespace vessel::linux_boot

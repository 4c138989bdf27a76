// Register offsets and bits of a PCI type 0 configuration header and of the
// capabilities Vessel implements (PCI Local Bus 3.0 chapter 6, PCI Express
// Base 4.0 7.5 and 7.7.2 for MSI-X).
#pragma once

#include <cstdint>

namespace vessel::pci {

// Configuration space sizes: 256 bytes through CF8/CFC, 4 KiB through ECAM.
inline constexpr uint32_t kConfigSize = 0x100;
inline constexpr uint32_t kExtConfigSize = 0x1000;

// Type 0 header.
inline constexpr uint32_t kVendorId = 0x00;
inline constexpr uint32_t kDeviceId = 0x02;
inline constexpr uint32_t kCommand = 0x04;
inline constexpr uint32_t kStatus = 0x06;
inline constexpr uint32_t kRevision = 0x08;
inline constexpr uint32_t kClassCode = 0x09;  // 3 bytes: prog-if, subclass, class
inline constexpr uint32_t kCacheLineSize = 0x0C;
inline constexpr uint32_t kHeaderType = 0x0E;
inline constexpr uint32_t kBar0 = 0x10;
inline constexpr uint32_t kSubsystemVendorId = 0x2C;
inline constexpr uint32_t kSubsystemId = 0x2E;
inline constexpr uint32_t kCapabilitiesPointer = 0x34;
inline constexpr uint32_t kInterruptLine = 0x3C;
inline constexpr uint32_t kInterruptPin = 0x3D;
inline constexpr uint32_t kHeaderEnd = 0x40;  // capabilities go from here

// COMMAND bits.
inline constexpr uint16_t kCommandIo = 1 << 0;
inline constexpr uint16_t kCommandMemory = 1 << 1;
inline constexpr uint16_t kCommandBusMaster = 1 << 2;
inline constexpr uint16_t kCommandParity = 1 << 6;
inline constexpr uint16_t kCommandSerr = 1 << 8;
inline constexpr uint16_t kCommandIntxDisable = 1 << 10;
inline constexpr uint16_t kCommandWritable = kCommandIo | kCommandMemory | kCommandBusMaster |
                                             kCommandParity | kCommandSerr | kCommandIntxDisable;

// STATUS bits: interrupt status and capabilities list are read-only; the
// error bits are write-1-to-clear.
inline constexpr uint16_t kStatusInterrupt = 1 << 3;
inline constexpr uint16_t kStatusCapList = 1 << 4;
inline constexpr uint16_t kStatusWriteOneToClear = 0xF900;

// BAR low bits.
inline constexpr uint32_t kBarIo = 0x1;
inline constexpr uint32_t kBarMem64 = 0x4;
inline constexpr uint32_t kBarPrefetchable = 0x8;
inline constexpr uint32_t kBarIoAddressMask = ~0x3u;
inline constexpr uint32_t kBarMemAddressMask = ~0xFu;

// Class codes (class << 16 | subclass << 8 | prog-if).
inline constexpr uint32_t kClassHostBridge = 0x060000;

// Capability IDs.
inline constexpr uint8_t kCapMsix = 0x11;
inline constexpr uint8_t kCapVendor = 0x09;

// MSI-X capability (offsets from the capability).
inline constexpr uint32_t kMsixControl = 0x02;
inline constexpr uint32_t kMsixTable = 0x04;  // offset | BIR
inline constexpr uint32_t kMsixPba = 0x08;    // offset | BIR
inline constexpr uint32_t kMsixCapSize = 0x0C;
inline constexpr uint16_t kMsixControlEnable = 1 << 15;
inline constexpr uint16_t kMsixControlFunctionMask = 1 << 14;
inline constexpr uint16_t kMsixControlTableSize = 0x7FF;  // N - 1
inline constexpr uint32_t kMsixMaxVectors = 2048;
// MSI-X table entry: address low, address high, data, vector control.
inline constexpr uint32_t kMsixEntrySize = 16;
inline constexpr uint32_t kMsixEntryVectorControl = 12;
inline constexpr uint32_t kMsixVectorMasked = 1 << 0;

}  // namespace vessel::pci

// Numbers from the virtio 1.x specification (OASIS virtio v1.1/v1.2) that the
// transport, the virtqueue and the devices share: feature bits, device status
// bits, the split ring's layout and the virtio-pci capability types.
#pragma once

#include <cstdint>

namespace vessel::virtio {

// Reserved feature bits (spec 6).
inline constexpr uint64_t kFeatureIndirectDesc = 1ull << 28;  // VIRTIO_F_INDIRECT_DESC
inline constexpr uint64_t kFeatureEventIdx = 1ull << 29;      // VIRTIO_F_EVENT_IDX
inline constexpr uint64_t kFeatureVersion1 = 1ull << 32;      // VIRTIO_F_VERSION_1

// Device status (spec 2.1).
inline constexpr uint8_t kStatusAcknowledge = 1;
inline constexpr uint8_t kStatusDriver = 2;
inline constexpr uint8_t kStatusDriverOk = 4;
inline constexpr uint8_t kStatusFeaturesOk = 8;
inline constexpr uint8_t kStatusNeedsReset = 0x40;
inline constexpr uint8_t kStatusFailed = 0x80;

// Split virtqueue (spec 2.7). Descriptor: addr u64, len u32, flags u16, next u16.
inline constexpr uint32_t kDescSize = 16;
inline constexpr uint16_t kDescFlagNext = 1;
inline constexpr uint16_t kDescFlagWrite = 2;
inline constexpr uint16_t kDescFlagIndirect = 4;
// Available ring: flags u16, idx u16, ring[size] u16, used_event u16.
inline constexpr uint16_t kAvailFlagNoInterrupt = 1;
// Used ring: flags u16, idx u16, ring[size] {id u32, len u32}, avail_event u16.
inline constexpr uint16_t kUsedFlagNoNotify = 1;
inline constexpr uint32_t kUsedElemSize = 8;
// Queue sizes are powers of two up to 32768; ring alignment per part.
inline constexpr uint32_t kMaxQueueSize = 32768;
inline constexpr uint64_t kDescAlign = 16;
inline constexpr uint64_t kAvailAlign = 2;
inline constexpr uint64_t kUsedAlign = 4;

// Device types (spec 5).
inline constexpr uint16_t kDeviceNet = 1;
inline constexpr uint16_t kDeviceBlock = 2;
inline constexpr uint16_t kDeviceConsole = 3;
inline constexpr uint16_t kDeviceEntropy = 4;
inline constexpr uint16_t kDeviceBalloon = 5;

// virtio over PCI (spec 4.1).
inline constexpr uint16_t kPciVendor = 0x1AF4;
inline constexpr uint16_t kPciModernDeviceBase = 0x1040;  // + device type
inline constexpr uint8_t kPciRevisionModern = 1;
inline constexpr uint16_t kPciSubsystemModern = 0x40;  // non-transitional: 0x40 or higher
// virtio_pci_cap.cfg_type
inline constexpr uint8_t kPciCapCommonCfg = 1;
inline constexpr uint8_t kPciCapNotifyCfg = 2;
inline constexpr uint8_t kPciCapIsrCfg = 3;
inline constexpr uint8_t kPciCapDeviceCfg = 4;
inline constexpr uint8_t kPciCapPciCfg = 5;
inline constexpr uint16_t kMsiNoVector = 0xFFFF;
// ISR status bits.
inline constexpr uint8_t kIsrQueue = 1;
inline constexpr uint8_t kIsrConfig = 2;

// struct virtio_pci_common_cfg offsets.
namespace common {
inline constexpr uint32_t kDeviceFeatureSelect = 0x00;  // u32 RW
inline constexpr uint32_t kDeviceFeature = 0x04;        // u32 RO
inline constexpr uint32_t kDriverFeatureSelect = 0x08;  // u32 RW
inline constexpr uint32_t kDriverFeature = 0x0C;        // u32 RW
inline constexpr uint32_t kMsixConfig = 0x10;           // u16 RW
inline constexpr uint32_t kNumQueues = 0x12;            // u16 RO
inline constexpr uint32_t kDeviceStatus = 0x14;         // u8 RW
inline constexpr uint32_t kConfigGeneration = 0x15;     // u8 RO
inline constexpr uint32_t kQueueSelect = 0x16;          // u16 RW
inline constexpr uint32_t kQueueSize = 0x18;            // u16 RW
inline constexpr uint32_t kQueueMsixVector = 0x1A;      // u16 RW
inline constexpr uint32_t kQueueEnable = 0x1C;          // u16 RW
inline constexpr uint32_t kQueueNotifyOff = 0x1E;       // u16 RO
inline constexpr uint32_t kQueueDesc = 0x20;            // u64 RW
inline constexpr uint32_t kQueueDriver = 0x28;          // u64 RW
inline constexpr uint32_t kQueueDevice = 0x30;          // u64 RW
inline constexpr uint32_t kSize = 0x38;                 // the 1.0 structure
}  // namespace common

}  // namespace vessel::virtio

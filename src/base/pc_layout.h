// The PC platform Vessel presents to a guest: guest-physical addresses, I/O
// ports and interrupt lines. One place, so that the boot code (e820, ACPI
// tables), the devices and the VM assembly agree.
#pragma once

#include <cstdint>

namespace vessel::layout {

// --- Guest-physical memory -------------------------------------------------
// RAM runs from 0 up to kLowRamEnd; anything beyond continues at 4 GiB.
inline constexpr uint64_t kLowRamEnd = 0xC000'0000;  // 3 GiB: start of the 32-bit MMIO hole
inline constexpr uint64_t kHighRamStart = 0x1'0000'0000;

// Low memory used by the direct boot path (all below 1 MiB).
inline constexpr uint64_t kBootGdt = 0x500;  // boot GDT
inline constexpr uint64_t kBootIdt = 0x520;  // empty IDT
inline constexpr uint64_t kBootParams =
    0x7000;                                // Linux zero page / multiboot info / PVH start info
inline constexpr uint64_t kPml4 = 0x9000;  // identity page tables for 64-bit entry
inline constexpr uint64_t kPdpt = 0xA000;
inline constexpr uint64_t kPd = 0xB000;        // 4 pages: identity map of 4 GiB with 2 MiB pages
inline constexpr uint64_t kCmdline = 0x20000;  // kernel command line
inline constexpr uint64_t kCmdlineMax = 0x10000;
inline constexpr uint64_t kEbdaStart = 0x9FC00;   // reserved from here to 1 MiB
inline constexpr uint64_t kAcpiTables = 0xE0000;  // RSDP and the ACPI tables
inline constexpr uint64_t kAcpiTablesEnd = 0xF0000;
// SMBIOS entry point and structure table (boot/smbios.h): the 64 KiB a kernel
// without EFI scans for the "_SM3_" anchor.
inline constexpr uint64_t kSmbios = 0xF0000;
inline constexpr uint64_t kSmbiosEnd = 0x100000;
inline constexpr uint64_t kKernelLoad = 0x100000;  // 1 MiB: protected-mode kernel

// MMIO (inside the hole).
// PCI (src/pci/): the 32-bit window BARs are placed in (the DSDT's PCI0 _CRS
// and the BAR allocator agree on it), and ECAM for bus 0 (advertised by the
// MCFG table, reserved in e820 and as a PNP0C02 motherboard resource).
inline constexpr uint64_t kPciMmioBase = 0xC000'0000;
inline constexpr uint64_t kPciMmioEnd = 0xD000'0000;  // exclusive: 256 MiB
inline constexpr uint64_t kPciEcamBase = 0xE000'0000;
inline constexpr uint64_t kPciEcamSize = 0x10'0000;       // 1 MiB: bus 0 only
inline constexpr uint64_t kTestDeviceMmio = 0xD000'0000;  // test device for the test guests
inline constexpr uint64_t kTestDeviceMmioSize = 0x1000;
inline constexpr uint64_t kIoapicBase = 0xFEC0'0000;
// Reserved for KVM (never RAM, never a device): the identity-map page and the
// three TSS pages KVM needs to run real mode on VMX without unrestricted
// guest. e820 should report them reserved.
inline constexpr uint64_t kKvmIdentityMap = 0xFFFB'C000;
inline constexpr uint64_t kKvmTss = 0xFFFB'D000;
inline constexpr uint64_t kKvmReservedEnd = 0xFFFC'0000;
inline constexpr uint64_t kLapicBase = 0xFEE0'0000;

// --- I/O ports ---------------------------------------------------------------
inline constexpr uint16_t kPortPic1 = 0x20;
inline constexpr uint16_t kPortPit = 0x40;
inline constexpr uint16_t kPortI8042Data = 0x60;
inline constexpr uint16_t kPortSysCtrlB = 0x61;
inline constexpr uint16_t kPortI8042Cmd = 0x64;
inline constexpr uint16_t kPortCmos = 0x70;  // index; 0x71 data
inline constexpr uint16_t kPortPic2 = 0xA0;
inline constexpr uint16_t kPortElcr = 0x4D0;      // 8259A edge/level control, 2 ports
inline constexpr uint16_t kPortDebugExit = 0xF4;  // like QEMU's isa-debug-exit
inline constexpr uint16_t kPortCom1 = 0x3F8;
inline constexpr uint16_t kPortAcpiPm = 0x600;  // PM1a event (4 bytes) + PM1a control (2 bytes)
inline constexpr uint16_t kPortAcpiPm1aEvt = 0x600;
inline constexpr uint16_t kPortAcpiPm1aCnt = 0x604;
inline constexpr uint16_t kPortAcpiPmTmr = 0x608;
inline constexpr uint16_t kPortAcpiSmiCmd = 0x0;    // no SMI command port: ACPI is always enabled
inline constexpr uint16_t kPortResetCf9 = 0xCF9;    // reset control register
inline constexpr uint16_t kPortTestDevice = 0x510;  // test device port window (16 ports)
// PCI configuration mechanism #1: CONFIG_ADDRESS (dword at 0xCF8; a byte at
// 0xCF9 is the reset control register) and CONFIG_DATA (0xCFC-0xCFF).
inline constexpr uint16_t kPortPciConfig = 0xCF8;
inline constexpr uint32_t kPortPciConfigCount = 8;
// I/O BARs are placed from here to the end of the port space.
inline constexpr uint16_t kPciIoBase = 0xC000;
inline constexpr uint32_t kPciIoEnd = 0x10000;  // exclusive

// --- Interrupt lines (GSI = ISA IRQ for 0-15) ---------------------------------
inline constexpr uint32_t kIrqPit = 0;
inline constexpr uint32_t kIrqKeyboard = 1;
inline constexpr uint32_t kIrqCom1 = 4;
inline constexpr uint32_t kIrqRtc = 8;
inline constexpr uint32_t kIrqAcpiSci = 9;
inline constexpr uint32_t kIrqTestDevice = 10;
inline constexpr uint32_t kNumIoapicPins = 24;
// PCI INTx: INTA-INTD of slot s, pin p (0 = INTA) reach GSI 16 + (s + p) % 4,
// level-triggered (IOAPIC pins only; the DSDT's _PRT says so).
inline constexpr uint32_t kIrqPciIntxBase = 16;
inline constexpr uint32_t kPciIntxLines = 4;
// `pin` 1-4 (INTA-INTD) of the device in `slot` of bus 0.
inline constexpr uint32_t pci_intx_gsi(uint32_t slot, uint32_t pin) {
  return kIrqPciIntxBase + (slot + (pin == 0 ? 0 : pin - 1)) % kPciIntxLines;
}

// ACPI S5 sleep type value written to PM1a_CNT.SLP_TYP for power-off; the
// DSDT's \_S5 package carries the same value.
inline constexpr uint16_t kAcpiS5SlpTyp = 5;

}  // namespace vessel::layout

/* mmio: loads and stores of 8, 16 and 32 bits to the test device's MMIO
 * window (paging off, so the window is at its physical address): the ID
 * register, SCRATCH written and read back in each width, read-modify-write
 * instructions on MMIO (OR, ADD, XCHG, INC), MOVS between MMIO and RAM,
 * COUNTER, and offsets past the registers reading 0. */
#include "guest.h"

GUEST_NAME mmio

#define MMIO_ID (TESTDEV_MMIO + TESTDEV_ID)
#define MMIO_SCRATCH (TESTDEV_MMIO + TESTDEV_SCRATCH)
#define MMIO_COUNTER (TESTDEV_MMIO + TESTDEV_COUNTER)
#define MMIO_UNUSED (TESTDEV_MMIO + 0x10)

.code32
.text
.globl guest_main
guest_main:
  SAY "MMIO start"

  /* ID in every width. */
  mov eax, [MMIO_ID]
  CHECK_EQ eax, TESTDEV_ID_VALUE, 1, "32-bit read of ID"
  movzx eax, word ptr [MMIO_ID]
  CHECK_EQ eax, 0x5356, 2, "16-bit read of ID"
  movzx eax, word ptr [MMIO_ID + 2]
  CHECK_EQ eax, 0x4C53, 3, "16-bit read of ID bytes 2-3"
  movzx eax, byte ptr [MMIO_ID + 3]
  CHECK_EQ eax, 0x4C, 4, "8-bit read of ID byte 3"
  mov dword ptr [MMIO_ID], 0
  mov eax, [MMIO_ID]
  CHECK_EQ eax, TESTDEV_ID_VALUE, 5, "ID changed by a write"
  /* A register operand of CMP straight from MMIO. */
  cmp dword ptr [MMIO_ID], TESTDEV_ID_VALUE
  CHECK_CC e, 6, "CMP with an MMIO operand"

  /* SCRATCH: a 32-bit store, then narrow stores into its bytes. */
  mov dword ptr [MMIO_SCRATCH], 0x01020304
  mov eax, [MMIO_SCRATCH]
  CHECK_EQ eax, 0x01020304, 7, "SCRATCH 32-bit write/read"
  mov byte ptr [MMIO_SCRATCH + 1], 0xAA
  mov eax, [MMIO_SCRATCH]
  CHECK_EQ eax, 0x0102AA04, 8, "SCRATCH after an 8-bit write to byte 1"
  mov word ptr [MMIO_SCRATCH + 2], 0xBBCC
  mov eax, [MMIO_SCRATCH]
  CHECK_EQ eax, 0xBBCCAA04, 9, "SCRATCH after a 16-bit write to bytes 2-3"
  movzx eax, byte ptr [MMIO_SCRATCH + 2]
  CHECK_EQ eax, 0xCC, 10, "SCRATCH 8-bit read of byte 2"

  /* Read-modify-write instructions with an MMIO destination. */
  mov dword ptr [MMIO_SCRATCH], 0x10000001
  or dword ptr [MMIO_SCRATCH], 0x00F000F0
  mov eax, [MMIO_SCRATCH]
  CHECK_EQ eax, 0x10F000F1, 11, "OR to MMIO"
  add dword ptr [MMIO_SCRATCH], 0x0F
  mov eax, [MMIO_SCRATCH]
  CHECK_EQ eax, 0x10F00100, 12, "ADD to MMIO (with a carry between bytes)"
  inc byte ptr [MMIO_SCRATCH + 3]
  mov eax, [MMIO_SCRATCH]
  CHECK_EQ eax, 0x11F00100, 13, "INC of an MMIO byte"
  mov eax, 0xCAFEF00D
  xchg [MMIO_SCRATCH], eax
  CHECK_EQ eax, 0x11F00100, 14, "XCHG with MMIO: old value"
  mov eax, [MMIO_SCRATCH]
  CHECK_EQ eax, 0xCAFEF00D, 15, "XCHG with MMIO: new value"

  /* MOVSD from MMIO to RAM: ID then SCRATCH. */
  mov esi, MMIO_ID
  mov edi, offset buffer
  mov ecx, 2
  rep movsd
  mov eax, [buffer]
  CHECK_EQ eax, TESTDEV_ID_VALUE, 16, "MOVSD of ID to RAM"
  mov eax, [buffer + 4]
  CHECK_EQ eax, 0xCAFEF00D, 17, "MOVSD of SCRATCH to RAM"
  mov eax, MMIO_ID + 8
  CHECK_EQ esi, eax, 18, "ESI after MOVSD from MMIO"
  /* MOVSW from RAM into SCRATCH's upper half. */
  mov word ptr [buffer], 0x5566
  mov esi, offset buffer
  mov edi, MMIO_SCRATCH + 2
  movsw
  mov eax, [MMIO_SCRATCH]
  CHECK_EQ eax, 0x5566F00D, 19, "MOVSW from RAM to MMIO"

  /* COUNTER: starts at 0, one step per 4-byte read, also through MOVSD. */
  mov eax, [MMIO_COUNTER]
  CHECK_EQ eax, 0, 20, "first COUNTER read"
  mov eax, [MMIO_COUNTER]
  CHECK_EQ eax, 1, 21, "second COUNTER read"
  mov esi, MMIO_COUNTER
  mov edi, offset buffer
  movsd
  mov eax, [buffer]
  CHECK_EQ eax, 2, 22, "MOVSD of COUNTER to RAM"

  /* Offsets past the registers read 0 and ignore writes. */
  mov dword ptr [MMIO_UNUSED], 0xFFFFFFFF
  mov eax, [MMIO_UNUSED]
  CHECK_EQ eax, 0, 23, "unused offset 0x10"
  mov eax, [TESTDEV_MMIO + 0xFFC]
  CHECK_EQ eax, 0, 24, "unused offset 0xFFC"

  jmp guest_pass

.bss
.balign 4
buffer: .skip 16

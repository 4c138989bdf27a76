/* pio: port I/O of 8, 16 and 32 bits to the test device's port window: the
 * ID register (whole and by its bytes and halves, read-only), SCRATCH written
 * and read back in each width, COUNTER stepping by one per 4-byte read, and
 * string I/O (REP INS/OUTS in both directions and several widths). */
#include "guest.h"

GUEST_NAME pio

#define PORT_ID (TESTDEV_PORT + TESTDEV_ID)
#define PORT_SCRATCH (TESTDEV_PORT + TESTDEV_SCRATCH)
#define PORT_COUNTER (TESTDEV_PORT + TESTDEV_COUNTER)

.code32
.text
.globl guest_main
guest_main:
  SAY "port I/O start"

  /* ID in every width and at every byte. */
  mov dx, PORT_ID
  in eax, dx
  CHECK_EQ eax, TESTDEV_ID_VALUE, 1, "32-bit read of ID"
  xor eax, eax
  in ax, dx
  CHECK_EQ eax, 0x5356, 2, "16-bit read of ID"
  mov dx, PORT_ID + 2
  xor eax, eax
  in ax, dx
  CHECK_EQ eax, 0x4C53, 3, "16-bit read of ID bytes 2-3"
  mov dx, PORT_ID + 1
  xor eax, eax
  in al, dx
  CHECK_EQ eax, 0x53, 4, "8-bit read of ID byte 1"
  mov dx, PORT_ID + 3
  in al, dx
  CHECK_EQ eax, 0x4C, 5, "8-bit read of ID byte 3"
  mov dx, PORT_ID
  xor eax, eax
  out dx, eax
  in eax, dx
  CHECK_EQ eax, TESTDEV_ID_VALUE, 6, "ID changed by a write"

  /* SCRATCH: a 32-bit write, then narrow writes into its bytes. */
  mov dx, PORT_SCRATCH
  mov eax, 0xDEADBEEF
  out dx, eax
  xor eax, eax
  in eax, dx
  CHECK_EQ eax, 0xDEADBEEF, 7, "SCRATCH 32-bit write/read"
  mov al, 0x11
  out dx, al
  in eax, dx
  CHECK_EQ eax, 0xDEADBE11, 8, "SCRATCH after an 8-bit write to byte 0"
  mov dx, PORT_SCRATCH + 2
  mov ax, 0x2233
  out dx, ax
  mov dx, PORT_SCRATCH
  in eax, dx
  CHECK_EQ eax, 0x2233BE11, 9, "SCRATCH after a 16-bit write to bytes 2-3"
  mov dx, PORT_SCRATCH + 1
  xor eax, eax
  mov al, 0x44
  out dx, al
  mov dx, PORT_SCRATCH
  xor eax, eax
  in ax, dx
  CHECK_EQ eax, 0x4411, 10, "SCRATCH 16-bit read after an 8-bit write to byte 1"
  mov dx, PORT_SCRATCH + 3
  xor eax, eax
  in al, dx
  CHECK_EQ eax, 0x22, 11, "SCRATCH 8-bit read of byte 3"

  /* COUNTER: starts at 0, one step per 4-byte read. */
  mov dx, PORT_COUNTER
  in eax, dx
  CHECK_EQ eax, 0, 12, "first COUNTER read"
  in eax, dx
  CHECK_EQ eax, 1, 13, "second COUNTER read"

  /* REP INSD from COUNTER: each element is a separate read (2, 3, 4, 5). */
  mov edi, offset buffer
  mov ecx, 4
  rep insd
  CHECK_EQ ecx, 0, 14, "ECX after REP INSD"
  mov eax, offset buffer + 16
  CHECK_EQ edi, eax, 15, "EDI after REP INSD"
  mov eax, [buffer]
  CHECK_EQ eax, 2, 16, "REP INSD element 0"
  mov eax, [buffer + 4]
  CHECK_EQ eax, 3, 17, "REP INSD element 1"
  mov eax, [buffer + 8]
  CHECK_EQ eax, 4, 18, "REP INSD element 2"
  mov eax, [buffer + 12]
  CHECK_EQ eax, 5, 19, "REP INSD element 3"

  /* The same backwards (DF = 1): 6 lands at the higher address. */
  mov edi, offset buffer + 4
  mov ecx, 2
  std
  rep insd
  cld
  mov eax, offset buffer - 4
  CHECK_EQ edi, eax, 20, "EDI after REP INSD with DF = 1"
  mov eax, [buffer + 4]
  CHECK_EQ eax, 6, 21, "REP INSD (DF = 1) element 0"
  mov eax, [buffer]
  CHECK_EQ eax, 7, 22, "REP INSD (DF = 1) element 1"

  /* REP INSB from ID byte 0. */
  mov dword ptr [buffer], 0
  mov edi, offset buffer
  mov ecx, 3
  mov dx, PORT_ID
  rep insb
  mov eax, [buffer]
  CHECK_EQ eax, 0x00565656, 23, "REP INSB from ID"

  /* REP OUTSB / OUTSW / OUTSD into SCRATCH: the last element stays. */
  mov dx, PORT_SCRATCH
  xor eax, eax
  out dx, eax
  mov esi, offset out_bytes
  mov ecx, 3
  rep outsb
  mov eax, offset out_bytes + 3
  CHECK_EQ esi, eax, 24, "ESI after REP OUTSB"
  in eax, dx
  CHECK_EQ eax, 0xA3, 25, "SCRATCH after REP OUTSB"
  mov esi, offset out_dwords
  mov ecx, 2
  rep outsd
  in eax, dx
  CHECK_EQ eax, 0x22222222, 26, "SCRATCH after REP OUTSD"
  mov dx, PORT_SCRATCH + 2
  mov esi, offset out_words
  mov ecx, 2
  rep outsw
  mov dx, PORT_SCRATCH
  in eax, dx
  CHECK_EQ eax, 0x44442222, 27, "SCRATCH after REP OUTSW to bytes 2-3"

  /* The string I/O above read COUNTER 6 times after the first two. */
  mov dx, PORT_COUNTER
  in eax, dx
  CHECK_EQ eax, 8, 28, "COUNTER after the string reads"

  jmp guest_pass

.section .rodata
out_bytes: .byte 0xA1, 0xA2, 0xA3
.balign 4
out_dwords: .long 0x11111111, 0x22222222
out_words: .word 0x3333, 0x4444

.bss
.balign 4
buffer: .skip 16

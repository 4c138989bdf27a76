/* rm_int: the smallest real-mode software interrupt, as one 512-byte boot
 * sector. Not a test of vessel: run-guest.sh runs it under QEMU (TCG as a
 * control, then KVM) when guest.realmode fails on KVM, to tell a defect of
 * the host's KVM (some nested /dev/kvm never completes a real-mode INT n)
 * from a defect of vessel. Prints "guest rm_int: PASS" and writes 0 to the
 * debug-exit port when INT 0x80 reached its handler and returned. */
#include "guest.h"

.code16
.section .text.entry, "ax"
.globl _start
_start:
  cli
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7C00
  mov word ptr [0x80 * 4], offset handler
  mov word ptr [0x80 * 4 + 2], 0
  mov ax, 0x4321
  int 0x80
  cmp ax, 0x4322
  jne 2f
  mov si, offset pass
  mov dx, COM1_THR
1:
  lodsb
  test al, al
  jz 3f
  out dx, al
  jmp 1b
3:
  xor al, al
  out DEBUG_EXIT_PORT, al
2:
  hlt
  jmp 2b
handler:
  inc ax
  iret
pass: .asciz "\nguest rm_int: PASS\n" /* own line after the firmware's text */
.org 510
.byte 0x55, 0xAA

/* realmode: a flat binary loaded at 0x7C00 and started in real mode (either
 * CS:IP = 0x07C0:0 or 0:0x7C00). Checks real-mode address arithmetic: CS
 * normalisation by a far jump, linear = segment * 16 + offset through two
 * aliasing segment:offset pairs, 16-bit offset wrap-around, a far call into
 * a segment with a different base, a software interrupt through the IVT,
 * 32-bit operands in real mode and a stack in a non-zero stack segment. */
#include "guest.h"

GUEST_NAME realmode

#define LOAD_ADDR 0x7C00

.code16
.section .text.entry, "ax"
.globl _start
_start:
  cli
  jmp 0:rm_main /* works from either CS:IP convention: the far jump is absolute */

.text
rm_main:
  xor ax, ax
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov sp, LOAD_ADDR
  cld
  SAY16 "real mode start"

  /* The far jump loaded CS = 0 and IP = the linked address. */
  mov ax, cs
  CHECK_EQ16 ax, 0, 1, "CS after far jump"
  call 1f
1:
  pop ax
  mov bx, offset 1b
  CHECK_EQ16 ax, bx, 2, "IP after far jump"

  /* 0x1000:0x0010 and 0x1001:0x0000 are the same linear word 0x10010. */
  mov word ptr [0x0010], 0 /* linear 0x10: where an ignored segment base writes */
  mov ax, 0x1000
  mov es, ax
  mov word ptr es:[0x0010], 0xA55A
  mov ax, 0x1001
  mov fs, ax
  mov ax, fs:[0x0000]
  CHECK_EQ16 ax, 0xA55A, 3, "aliasing segment:offset pairs differ"
  mov ax, [0x0010]
  CHECK_EQ16 ax, 0, 4, "segment base was ignored"

  /* 16-bit offsets wrap within the segment: 0xFFFF + 2 is offset 1. */
  mov ax, 0x2000
  mov es, ax
  mov byte ptr es:[0x0001], 0
  mov ax, 0x3000
  mov fs, ax
  mov byte ptr fs:[0x0001], 0 /* linear 0x30001: where a missing wrap lands */
  mov bx, 0xFFFF
  mov byte ptr es:[bx + 2], 0x77
  movzx ax, byte ptr es:[0x0001]
  CHECK_EQ16 ax, 0x77, 5, "16-bit effective address did not wrap"
  movzx ax, byte ptr fs:[0x0001]
  CHECK_EQ16 ax, 0, 6, "16-bit wrap wrote past the segment"

  /* A far call into CS = 0x07C0: the same code at offsets less 0x7C00. */
  mov word ptr [far_result], 0
  call 0x07C0:(far_target - LOAD_ADDR)
  mov ax, cs
  CHECK_EQ16 ax, 0, 7, "CS after far return"
  mov ax, [far_result]
  CHECK_EQ16 ax, 0x07C0, 8, "CS inside the far call"
  mov ax, [far_ip]
  mov bx, offset far_ip_label - LOAD_ADDR
  CHECK_EQ16 ax, bx, 9, "IP inside the far call"

  /* INT 0x80 through our own IVT entry. */
  mov word ptr [0x80 * 4], offset int80_handler
  mov word ptr [0x80 * 4 + 2], 0
  mov word ptr [int80_count], 0
  mov cx, sp
  mov ax, 0x4321
  int 0x80
  CHECK_EQ16 ax, 0x4322, 10, "INT 0x80 handler result"
  mov ax, [int80_count]
  CHECK_EQ16 ax, 1, 11, "INT 0x80 handler count"
  CHECK_EQ16 sp, cx, 12, "SP after IRET"

  /* 32-bit operand size in real mode. */
  mov eax, 0x12345678
  ror eax, 16
  cmp eax, 0x56781234
  jne 1f
  mov ebx, 0xFFFFFFFF
  add ebx, 2
  jnc 1f
  cmp ebx, 1
  je 2f
1:
  mov dx, ax
  mov si, offset .Lop32
  mov ax, 13
  jmp guest_fail_got16
2:

  /* A stack in SS = 0x0700: pushes land at 0x7000 + SP. */
  mov bx, sp
  mov ax, 0x0700
  mov ss, ax
  mov sp, 0x0C00 /* linear 0x7C00, like before */
  push 0xBEEF
  mov ax, [0x7C00 - 2]
  pop dx
  xor cx, cx
  mov ss, cx
  mov sp, bx
  CHECK_EQ16 ax, 0xBEEF, 14, "push did not land at SS * 16 + SP"
  CHECK_EQ16 dx, 0xBEEF, 15, "pop in SS = 0x0700"

  jmp guest_pass16

/* Reached with CS = 0x07C0: records CS and the IP of a call inside it. */
far_target:
  mov ax, cs
  mov [far_result], ax
  call far_ip_label
far_ip_label:
  pop ax
  mov [far_ip], ax
  retf

int80_handler:
  inc ax
  inc word ptr [int80_count]
  iret

.section .rodata
.Lop32: .asciz "32-bit operand arithmetic in real mode"

.data
far_result: .word 0
far_ip: .word 0
int80_count: .word 0

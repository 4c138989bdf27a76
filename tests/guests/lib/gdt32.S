/* A flat 32-bit GDT (code SEL_CODE32, data SEL_DATA32, base 0, limit 4 GiB)
 * for guests that need known selectors, e.g. for IDT gates. */
#include "guest.h"

.code32
.text

/* Loads the GDT and reloads every segment register from it. */
.globl gdt32_load
gdt32_load:
  lgdt [gdt32_pointer]
  jmp SEL_CODE32:1f
1:
  push eax
  mov ax, SEL_DATA32
  mov ds, ax
  mov es, ax
  mov fs, ax
  mov gs, ax
  mov ss, ax
  pop eax
  ret

.section .rodata
.balign 8
gdt32:
  .quad 0                  /* null */
  .quad 0x00CF9A000000FFFF /* 0x08: code, 32-bit, base 0, limit 4 GiB */
  .quad 0x00CF92000000FFFF /* 0x10: data, base 0, limit 4 GiB */
gdt32_end:
gdt32_pointer:
  .word gdt32_end - gdt32 - 1
  .long gdt32

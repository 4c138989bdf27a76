/* A 32-bit IDT whose 256 gates all start out pointing at stubs that fail the
 * test naming the unexpected vector; guests then install their own handlers
 * with idt32_set_gate. Needs the GDT of gdt32.S (gates use SEL_CODE32). */
#include "guest.h"

#define IDT_GATE_INT32 0x8E00 /* present, DPL 0, 32-bit interrupt gate */
#define STUB_SIZE 16

.code32
.text

/* One stub per vector, STUB_SIZE bytes apart: push the vector, report it. */
.balign STUB_SIZE
idt32_stubs:
.set vector, 0
.rept 256
  .balign STUB_SIZE
  push vector
  jmp idt32_unexpected
  .set vector, vector + 1
.endr

idt32_unexpected:
  pop edx
  mov esi, offset .Lunexpected
  mov eax, 126
  jmp guest_fail_got

/* Points every gate at its stub and loads the IDT. */
.globl idt32_init
idt32_init:
  push eax
  push edx
  xor eax, eax
  mov edx, offset idt32_stubs
1:
  call idt32_set_gate
  add edx, STUB_SIZE
  inc eax
  cmp eax, 256
  jb 1b
  lidt [idt32_pointer]
  pop edx
  pop eax
  ret

/* Sets gate EAX (vector) to an interrupt gate to EDX (handler). */
.globl idt32_set_gate
idt32_set_gate:
  push ebx
  push edx
  lea ebx, [idt32 + eax * 8]
  mov [ebx], dx
  mov word ptr [ebx + 2], SEL_CODE32
  mov word ptr [ebx + 4], IDT_GATE_INT32
  shr edx, 16
  mov [ebx + 6], dx
  pop edx
  pop ebx
  ret

.section .rodata
.Lunexpected: .asciz "unexpected interrupt or exception, vector"
.balign 4
idt32_pointer:
  .word 256 * 8 - 1
  .long idt32

.bss
.balign 8
idt32:
  .skip 256 * 8

/* A 64-bit IDT whose 256 gates all start out pointing at stubs that fail the
 * test naming the unexpected vector; guests then install their own handlers
 * with idt64_set_gate. Needs the GDT of long_mode.S (gates use SEL_CODE64). */
#include "guest.h"

#define IDT_GATE_INT64 0x8E00 /* present, DPL 0, 64-bit interrupt gate, IST 0 */
#define STUB_SIZE 16

.code64
.text

/* One stub per vector, STUB_SIZE bytes apart: push the vector, report it. */
.balign STUB_SIZE
idt64_stubs:
.set vector, 0
.rept 256
  .balign STUB_SIZE
  push vector
  jmp idt64_unexpected
  .set vector, vector + 1
.endr

idt64_unexpected:
  pop rdx
  lea rsi, [rip + .Lunexpected]
  mov eax, 126
  jmp guest_fail_got64

/* Points every gate at its stub and loads the IDT. */
.globl idt64_init
idt64_init:
  push rax
  push rdx
  xor eax, eax
  lea rdx, [rip + idt64_stubs]
1:
  call idt64_set_gate
  add rdx, STUB_SIZE
  inc eax
  cmp eax, 256
  jb 1b
  lidt [rip + idt64_pointer]
  pop rdx
  pop rax
  ret

/* Sets gate EAX (vector) to an interrupt gate to RDX (handler). */
.globl idt64_set_gate
idt64_set_gate:
  push rbx
  push rcx
  push rdx
  mov ebx, eax
  shl rbx, 4
  lea rcx, [rip + idt64]
  add rbx, rcx
  mov [rbx], dx
  mov word ptr [rbx + 2], SEL_CODE64
  mov word ptr [rbx + 4], IDT_GATE_INT64
  shr rdx, 16
  mov [rbx + 6], dx
  shr rdx, 16
  mov [rbx + 8], edx
  mov dword ptr [rbx + 12], 0
  pop rdx
  pop rcx
  pop rbx
  ret

.section .rodata
.Lunexpected: .asciz "unexpected interrupt or exception, vector"
.balign 8
idt64_pointer:
  .word 256 * 16 - 1
  .quad idt64

.bss
.balign 16
idt64:
  .skip 256 * 16

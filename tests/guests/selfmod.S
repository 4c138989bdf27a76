/* selfmod: self-modifying code in 32-bit protected mode. Rewrites the
 * immediate of an instruction that has already run (many times, so a
 * decoded-code cache holds it), rewrites an opcode (ADD to SUB), stores to
 * the very next instruction of the running sequence, and copies two
 * different routines in turn into one RAM buffer and calls each. Every
 * rewritten instruction must run in its new form. */
#include "guest.h"

GUEST_NAME selfmod

#define ROUNDS 64
#define OPCODE_ADD_RM32_R32 0x01
#define OPCODE_SUB_RM32_R32 0x29

.code32
.text
.globl guest_main
guest_main:
  SAY "self-modifying code start"

  /* A new immediate in each round: the function returns what was patched. */
  mov ecx, 1
1:
  imul edx, ecx, 0x01010101
  mov [patched_imm + 1], edx /* the imm32 of `mov eax, imm32` */
  call patched_imm
  cmp eax, edx
  jne 2f
  call patched_imm /* and again, now that it is cached */
  cmp eax, edx
  jne 2f
  inc ecx
  cmp ecx, ROUNDS
  jbe 1b
  jmp 3f
2:
  mov edx, eax
  mov esi, offset .Limm
  mov eax, 1
  jmp guest_fail_got
3:

  /* The opcode: ADD becomes SUB. */
  mov eax, 10
  mov ebx, 3
  call patched_op
  CHECK_EQ eax, 13, 2, "ADD before patching"
  mov byte ptr [patched_op], OPCODE_SUB_RM32_R32
  mov eax, 10
  call patched_op
  CHECK_EQ eax, 7, 3, "the ADD patched into SUB still added"
  mov byte ptr [patched_op], OPCODE_ADD_RM32_R32
  mov eax, 10
  call patched_op
  CHECK_EQ eax, 13, 4, "the SUB patched back into ADD still subtracted"

  /* A store to the next instruction in the running sequence. */
  mov byte ptr [next_insn + 1], 0x42 /* the imm8 of `mov al, imm8` */
next_insn:
  mov al, 0x00
  movzx eax, al
  CHECK_EQ eax, 0x42, 5, "a store to the next instruction was not seen"

  /* Two routines copied in turn into one buffer and run. */
  mov esi, offset routine_a
  mov ecx, routine_a_end - routine_a
  call load_and_run
  CHECK_EQ eax, 0xAAAA0001, 6, "routine A from the RAM buffer"
  mov esi, offset routine_b
  mov ecx, routine_b_end - routine_b
  call load_and_run
  CHECK_EQ eax, 0xBBBB0002, 7, "routine B copied over routine A"
  mov esi, offset routine_a
  mov ecx, routine_a_end - routine_a
  call load_and_run
  CHECK_EQ eax, 0xAAAA0001, 8, "routine A copied back over routine B"

  jmp guest_pass

/* Copies ECX bytes from ESI into code_buffer and calls it. */
load_and_run:
  mov edi, offset code_buffer
  rep movsb
  call code_buffer
  ret

patched_imm:
  mov eax, 0
  ret

patched_op:
  add eax, ebx
  ret

/* Templates for the RAM buffer: position-independent. */
routine_a:
  mov eax, 0xAAAA0000
  inc eax
  ret
routine_a_end:
routine_b:
  xor eax, eax
  mov ax, 2
  or eax, 0xBBBB0000
  ret
routine_b_end:

.section .rodata
.Limm: .asciz "a patched immediate was not used"

.bss
.balign 64
code_buffer: .skip 64

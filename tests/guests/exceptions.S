/* exceptions: processor exceptions delivered through the IDT in 32-bit
 * protected mode, and IRET back. Raises #DE (divide by zero and quotient
 * overflow), #BP (INT3), #DB (single step via EFLAGS.TF), #UD (UD2) and #GP
 * (a segment load beyond the GDT limit, a far jump to the null selector);
 * checks each vector, the saved EIP (fault: the faulting instruction; trap:
 * the next one), the saved CS, the error code, and that ESP and the other
 * registers survive. Handlers resume at the address main leaves in
 * resume_eip. */
#include "guest.h"

GUEST_NAME exceptions

#define EFLAGS_TF (1 << 8)
#define NO_ERROR 0xFFFFFFFF

.code32
.text
.globl guest_main
guest_main:
  SAY "exceptions start"
  call gdt32_load
  call idt32_init
  mov eax, 0
  mov edx, offset exc_0
  call idt32_set_gate
  mov eax, 1
  mov edx, offset exc_1
  call idt32_set_gate
  mov eax, 3
  mov edx, offset exc_3
  call idt32_set_gate
  mov eax, 6
  mov edx, offset exc_6
  call idt32_set_gate
  mov eax, 13
  mov edx, offset exc_13
  call idt32_set_gate

  /* #DE: divide by zero is a fault. */
  call reset_records
  mov dword ptr [resume_eip], offset 1f
  mov ebx, esp
  mov esi, 0x5A5A5A5A
  xor edx, edx
  mov eax, 1
  xor ecx, ecx
de_zero:
  div ecx
  FAIL 1, "DIV by zero did not fault"
1:
  mov eax, offset de_zero
  mov ecx, 0
  call check_records
  CHECK_EQ esp, ebx, 2, "ESP after #DE"
  CHECK_EQ esi, 0x5A5A5A5A, 3, "ESI changed by the #DE round trip"

  /* #DE: a quotient that does not fit. */
  call reset_records
  mov dword ptr [resume_eip], offset 1f
  mov edx, 2
  xor eax, eax
  mov ecx, 1
de_overflow:
  div ecx
  FAIL 4, "DIV with quotient overflow did not fault"
1:
  mov eax, offset de_overflow
  mov ecx, 0
  call check_records

  /* #BP: INT3 is a trap, the saved EIP is the next instruction. */
  call reset_records
  mov dword ptr [resume_eip], offset 1f
  int3
bp_next:
  FAIL 5, "INT3 handler did not resume at resume_eip"
1:
  mov eax, offset bp_next
  mov ecx, 3
  call check_records

  /* #DB: POPF sets TF; the trap comes after the instruction that follows. */
  call reset_records
  mov dword ptr [resume_eip], offset 1f
  pushfd
  or dword ptr [esp], EFLAGS_TF
  popfd
  mov edi, 0x1234 /* the one instruction that runs with TF = 1 */
db_next:
  FAIL 6, "single step did not trap"
1:
  mov eax, offset db_next
  mov ecx, 1
  call check_records
  CHECK_EQ edi, 0x1234, 7, "the single-stepped instruction did not run"
  pushfd
  pop eax
  and eax, EFLAGS_TF
  CHECK_EQ eax, 0, 8, "TF still set after the #DB handler"

  /* #UD: UD2 is a fault. */
  call reset_records
  mov dword ptr [resume_eip], offset 1f
ud_insn:
  ud2
  FAIL 9, "UD2 did not fault"
1:
  mov eax, offset ud_insn
  mov ecx, 6
  call check_records

  /* #GP: a selector beyond the GDT limit; error code = the selector. */
  call reset_records
  mov dword ptr [resume_eip], offset 1f
  mov ax, 0x1230
gp_selector:
  mov ds, ax
  FAIL 10, "loading a selector beyond the GDT limit did not fault"
1:
  mov eax, offset gp_selector
  mov ecx, 13
  call check_records
  mov eax, [seen_error]
  CHECK_EQ eax, 0x1230, 11, "#GP error code for the bad selector"
  mov eax, ds
  and eax, 0xFFFF
  CHECK_EQ eax, SEL_DATA32, 12, "DS changed by the faulting load"

  /* #GP(0): a far jump to the null selector. */
  call reset_records
  mov dword ptr [resume_eip], offset 1f
gp_null:
  jmp 0:1f
  FAIL 13, "far jump to the null selector did not fault"
1:
  mov eax, offset gp_null
  mov ecx, 13
  call check_records
  mov eax, [seen_error]
  CHECK_EQ eax, 0, 14, "#GP error code for the null selector"

  jmp guest_pass

reset_records:
  mov dword ptr [seen_count], 0
  mov dword ptr [seen_vector], NO_ERROR
  mov dword ptr [seen_error], NO_ERROR
  mov dword ptr [seen_eip], 0
  mov dword ptr [seen_cs], 0
  ret

/* Checks that exactly one exception, vector ECX, was taken with saved EIP
 * EAX and saved CS SEL_CODE32. */
check_records:
  mov edx, [seen_count]
  CHECK_EQ edx, 1, 20, "exception count"
  mov edx, [seen_vector]
  CHECK_EQ edx, ecx, 21, "exception vector"
  mov edx, [seen_eip]
  CHECK_EQ edx, eax, 22, "saved EIP"
  mov edx, [seen_cs]
  CHECK_EQ edx, SEL_CODE32, 23, "saved CS"
  ret

/* A handler: records the frame, resumes at resume_eip, clears TF. */
.macro EXCEPTION_HANDLER vector, has_error
exc_\vector:
  .if \has_error
  pop dword ptr [seen_error]
  .endif
  inc dword ptr [seen_count]
  mov dword ptr [seen_vector], \vector
  push eax
  mov eax, [esp + 4] /* EIP */
  mov [seen_eip], eax
  mov eax, [esp + 8] /* CS */
  and eax, 0xFFFF
  mov [seen_cs], eax
  mov eax, [resume_eip]
  mov [esp + 4], eax
  and dword ptr [esp + 12], ~EFLAGS_TF
  pop eax
  iret
.endm

EXCEPTION_HANDLER 0, 0
EXCEPTION_HANDLER 1, 0
EXCEPTION_HANDLER 3, 0
EXCEPTION_HANDLER 6, 0
EXCEPTION_HANDLER 13, 1

.bss
.balign 4
resume_eip: .long 0
seen_count: .long 0
seen_vector: .long 0
seen_error: .long 0
seen_eip: .long 0
seen_cs: .long 0

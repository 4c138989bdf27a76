/* x87: the FPU checks a kernel does at boot and a little arithmetic, in
 * 32-bit protected mode. FNINIT then FNSTSW/FNSTCW give 0 and 0x037F (the
 * Linux FPU detection), CPUID reports FPU and FXSR, FLD/FADD/FDIV/FISTP give
 * the expected values, FLDPI stores the double nearest pi, FXSAVE writes
 * FCW and MXCSR where the layout says and FXRSTOR brings a register back,
 * CR0.TS makes an x87 instruction raise #NM, and an unmasked divide by zero
 * raises #MF at the next FWAIT (CR0.NE = 1). The handlers do not IRET: they
 * record the vector and saved EIP, drop the frame and jump to resume_eip. */
#include "guest.h"

GUEST_NAME x87

#define CR0_MP (1 << 1)
#define CR0_EM (1 << 2)
#define CR0_TS (1 << 3)
#define CR0_NE (1 << 5)
#define CR4_OSFXSR (1 << 9)

.code32
.text
.globl guest_main
guest_main:
  SAY "x87 start"
  call gdt32_load
  call idt32_init
  mov eax, 7
  mov edx, offset exc_7
  call idt32_set_gate
  mov eax, 16
  mov edx, offset exc_16
  call idt32_set_gate

  mov eax, 1
  cpuid
  and edx, (1 << 0) | (1 << 24)
  CHECK_EQ edx, (1 << 0) | (1 << 24), 1, "CPUID.1:EDX FPU and FXSR"

  mov eax, cr0
  and eax, ~(CR0_EM | CR0_TS)
  or eax, CR0_MP | CR0_NE
  mov cr0, eax
  mov eax, cr4
  or eax, CR4_OSFXSR
  mov cr4, eax

  /* The Linux detection: FNINIT, then the status and control words. */
  mov word ptr [scratch], 0xFFFF
  mov word ptr [scratch + 2], 0xFFFF
  fninit
  fnstsw [scratch]
  fnstcw [scratch + 2]
  movzx eax, word ptr [scratch]
  CHECK_EQ eax, 0, 2, "FNSTSW after FNINIT"
  movzx eax, word ptr [scratch + 2]
  CHECK_EQ eax, 0x037F, 3, "FNSTCW after FNINIT"

  /* (1 + 1) * 5 / 4 = 2.5: rounded to nearest even by FISTP, 2. */
  fld1
  fld1
  faddp st(1), st
  fimul dword ptr [five]
  fidiv dword ptr [four]
  fist dword ptr [scratch]
  mov eax, [scratch]
  CHECK_EQ eax, 2, 4, "FIST of 2.5 (round to nearest even)"
  fstp qword ptr [scratch]
  mov eax, [scratch + 4]
  CHECK_EQ eax, 0x40040000, 5, "2.5 as a double (high half)"
  fnstsw ax
  and eax, 0x3800
  CHECK_EQ eax, 0, 6, "TOP back at 0"

  fldpi
  fstp qword ptr [scratch]
  mov eax, [scratch]
  CHECK_EQ eax, 0x54442D18, 7, "pi as a double (low half)"
  mov eax, [scratch + 4]
  CHECK_EQ eax, 0x400921FB, 8, "pi as a double (high half)"

  /* FXSAVE: FCW at 0, abridged tags at 4, MXCSR at 24, ST0 at 32. */
  fninit
  fld1
  fxsave [fxarea]
  movzx eax, word ptr [fxarea]
  CHECK_EQ eax, 0x037F, 9, "FXSAVE FCW"
  movzx eax, byte ptr [fxarea + 4]
  CHECK_EQ eax, 0x80, 10, "FXSAVE abridged tag word"
  mov eax, [fxarea + 24]
  CHECK_EQ eax, 0x1F80, 11, "FXSAVE MXCSR"
  mov eax, [fxarea + 36]
  CHECK_EQ eax, 0x80000000, 12, "FXSAVE ST0 significand (high half)"
  fninit
  fxrstor [fxarea]
  fistp dword ptr [scratch]
  mov eax, [scratch]
  CHECK_EQ eax, 1, 13, "ST0 after FXRSTOR"

  /* CR0.TS: the next x87 instruction raises #NM. */
  mov dword ptr [seen_vector], 0
  mov dword ptr [resume_eip], offset 1f
  mov [saved_esp], esp
  mov eax, cr0
  or eax, CR0_TS
  mov cr0, eax
nm_insn:
  fld1
  FAIL 14, "FLD1 with CR0.TS set did not fault"
1:
  clts
  mov eax, [seen_vector]
  CHECK_EQ eax, 7, 15, "vector of the CR0.TS fault"
  mov eax, [seen_eip]
  mov ecx, offset nm_insn
  CHECK_EQ eax, ecx, 16, "saved EIP of #NM"

  /* An unmasked divide by zero: no result, ES set, #MF at the next FWAIT. */
  mov dword ptr [seen_vector], 0
  mov dword ptr [resume_eip], offset 1f
  mov [saved_esp], esp
  fninit
  fldcw [cw_ze_unmasked]
  fld1
  fldz
  fdivp st(1), st
  fnstsw ax
  and eax, 0x8084
  CHECK_EQ eax, 0x8084, 17, "ZE, ES and B after the unmasked division"
mf_insn:
  fwait
  FAIL 18, "FWAIT with an unmasked exception pending did not fault"
1:
  mov eax, [seen_vector]
  CHECK_EQ eax, 16, 19, "vector of the pending x87 exception"
  mov eax, [seen_eip]
  mov ecx, offset mf_insn
  CHECK_EQ eax, ecx, 20, "saved EIP of #MF"
  /* (Hardware leaves the operands in place; QEMU's TCG does not, so the
   * stack is not checked here: the unit tests compare with the host.) */
  fninit

  jmp guest_pass

/* A handler: records the vector and the saved EIP, then continues at
 * resume_eip with the stack as it was before the fault. */
.macro X87_HANDLER vector
exc_\vector:
  mov dword ptr [seen_vector], \vector
  mov eax, [esp]
  mov [seen_eip], eax
  mov esp, [saved_esp]
  jmp [resume_eip]
.endm

X87_HANDLER 7
X87_HANDLER 16

.data
.balign 4
five: .long 5
four: .long 4
cw_ze_unmasked: .word 0x037B

.bss
.balign 16
fxarea: .skip 512
scratch: .skip 16
resume_eip: .long 0
saved_esp: .long 0
seen_vector: .long 0
seen_eip: .long 0

/* gates: call gates and hardware task switches in 32-bit protected mode.
 * Ring 0 enters ring 3 by IRET; ring 3 calls ring 0 through a call gate
 * (DPL 3, one parameter): the handler checks CPL 0, the copied parameter and
 * the new stack from the TSS (ESP0/SS0), loads DS/ES with ring-0 data and
 * returns with RETF 4, after which ring 3 sees DS and ES nulled and its
 * stack with the parameter dropped. Then a CALL to a TSS: the new task sees
 * TR, NT and the back link; its IRET returns to the caller (NT clear, busy
 * bit of the called TSS clear, CR0.TS set). Last, a double fault through a
 * task gate in the IDT: the #DF task gets error code 0 on its stack and the
 * faulting EIP in the old TSS, which it changes before its IRET back. */
#include "guest.h"

GUEST_NAME gates

#define SEL_CODE3 0x1B
#define SEL_DATA3 0x23
#define SEL_TSS_MAIN 0x28
#define SEL_TSS_TASK2 0x30
#define SEL_CALL_GATE 0x3B
#define SEL_BACK_GATE 0x43
#define SEL_TSS_DF 0x48
#define EFLAGS_NT (1 << 14)
#define CR0_TS (1 << 3)

/* TSS descriptor (limit 0x67, base filled in at run time, type, DPL 0). */
#define TSS_DESC(type) .quad 0x0000800000000067 | ((type) << 40)

.code32
.text
.globl guest_main
guest_main:
  SAY "gates start"
  /* Fill in the bases of the TSS descriptors and the call gate offsets. */
  mov eax, offset tss_main
  mov ebx, offset gdt + SEL_TSS_MAIN
  call set_base
  mov eax, offset tss_task2
  mov ebx, offset gdt + SEL_TSS_TASK2
  call set_base
  mov eax, offset tss_df
  mov ebx, offset gdt + SEL_TSS_DF
  call set_base
  mov eax, offset ring0_entry
  mov ebx, offset gdt + (SEL_CALL_GATE & ~3)
  call set_gate_offset
  mov eax, offset back_to_ring0
  mov ebx, offset gdt + (SEL_BACK_GATE & ~3)
  call set_gate_offset
  lgdt [gdt_pointer]
  jmp SEL_CODE32:1f
1:
  mov ax, SEL_DATA32
  mov ds, ax
  mov es, ax
  mov fs, ax
  mov gs, ax
  mov ss, ax
  call idt32_init
  mov dword ptr [tss_main + 4], offset ring0_stack_top
  mov dword ptr [tss_main + 8], SEL_DATA32
  mov ax, SEL_TSS_MAIN
  ltr ax

  /* ---- Call gate from ring 3 ---- */
  mov [kernel_esp], esp
  push SEL_DATA3
  push offset user_stack_top
  push 0x2 /* EFLAGS: IF = 0, IOPL = 0 */
  push SEL_CODE3
  push offset user_code
  iret

user_code: /* ring 3 (IRET nulled DS, ES, FS, GS: ring-0 data) */
  mov ax, SEL_DATA3
  mov ds, ax
  mov es, ax
  push 0x12345678
  call SEL_CALL_GATE:0
  /* Back in ring 3 after RETF 4: record DS, ES, ESP through SS. */
  mov eax, ds
  mov ss:[user_ds], eax
  mov eax, es
  mov ss:[user_es], eax
  mov ss:[user_esp], esp
  call SEL_BACK_GATE:0

ring0_entry: /* ring 0 through the call gate */
  mov eax, cs
  and eax, 3
  mov ss:[gate_cpl], eax
  mov eax, [esp + 8]
  mov ss:[gate_param], eax
  mov ss:[gate_esp], esp
  mov eax, [esp + 16]
  mov ss:[gate_ss], eax
  mov ax, SEL_DATA32
  mov ds, ax
  mov es, ax
  retf 4

back_to_ring0: /* ring 0 again: drop the user frame, back to the kernel stack */
  mov ax, SEL_DATA32
  mov ds, ax
  mov es, ax
  mov fs, ax
  mov gs, ax
  mov esp, [kernel_esp]
  mov eax, [gate_cpl]
  CHECK_EQ eax, 0, 1, "CPL in the call gate's target"
  mov eax, [gate_param]
  CHECK_EQ eax, 0x12345678, 2, "parameter copied through the call gate"
  mov eax, [gate_esp]
  mov ebx, offset ring0_stack_top - 20
  CHECK_EQ eax, ebx, 3, "ESP after the call gate (TSS ESP0 - frame)"
  mov eax, [gate_ss]
  and eax, 0xFFFF
  CHECK_EQ eax, SEL_DATA3, 4, "old SS saved by the call gate"
  mov eax, [user_ds]
  and eax, 0xFFFF
  CHECK_EQ eax, 0, 5, "DS after RETF to ring 3 (DPL 0 data must be nulled)"
  mov eax, [user_es]
  and eax, 0xFFFF
  CHECK_EQ eax, 0, 6, "ES after RETF to ring 3 (DPL 0 data must be nulled)"
  mov eax, [user_esp]
  mov ebx, offset user_stack_top
  CHECK_EQ eax, ebx, 7, "ring-3 ESP after RETF 4"
  SAY "call gate ok"

  /* ---- CALL to a TSS, IRET back ---- */
  mov dword ptr [tss_task2 + 0x20], offset task2_entry
  mov dword ptr [tss_task2 + 0x24], 0x2
  mov dword ptr [tss_task2 + 0x38], offset task2_stack_top
  mov eax, offset tss_task2
  call set_flat_segments
  mov esi, 0x5A5A5A5A
  call SEL_TSS_TASK2:0
  CHECK_EQ esi, 0x5A5A5A5A, 8, "ESI not restored by the task return"
  mov eax, [task2_tr]
  and eax, 0xFFFF
  CHECK_EQ eax, SEL_TSS_TASK2, 9, "TR in the called task"
  mov eax, [task2_flags]
  and eax, EFLAGS_NT
  CHECK_EQ eax, EFLAGS_NT, 10, "NT in the called task"
  mov eax, [task2_link]
  CHECK_EQ eax, SEL_TSS_MAIN, 11, "back link of the called task"
  pushfd
  pop eax
  and eax, EFLAGS_NT
  CHECK_EQ eax, 0, 12, "NT after the task return"
  str ax
  and eax, 0xFFFF
  CHECK_EQ eax, SEL_TSS_MAIN, 13, "TR after the task return"
  movzx eax, byte ptr [gdt + SEL_TSS_TASK2 + 5]
  and eax, 0xF
  CHECK_EQ eax, 0x9, 14, "the returned-from TSS is not available again"
  mov eax, cr0
  and eax, CR0_TS
  CHECK_EQ eax, CR0_TS, 15, "CR0.TS after a task switch"
  clts
  SAY "task call ok"

  /* ---- #DF through a task gate ---- */
  mov dword ptr [tss_df + 0x20], offset df_task
  mov dword ptr [tss_df + 0x24], 0x2
  mov dword ptr [tss_df + 0x38], offset df_stack_top
  mov eax, offset tss_df
  call set_flat_segments
  sidt [idt_pointer]
  mov ebx, [idt_pointer + 2]
  mov word ptr [ebx + 8 * 8 + 2], SEL_TSS_DF /* IDT[8]: task gate */
  mov word ptr [ebx + 8 * 8 + 4], 0x8500
  mov dword ptr [ebx + 0], 0 /* IDT[0]: not a gate: #DE -> #GP -> #DF */
  mov dword ptr [ebx + 4], 0
  xor edx, edx
  xor ecx, ecx
  mov eax, 1
df_insn:
  div ecx
  FAIL 16, "DIV by zero did not fault"
after_df:
  mov eax, [df_error]
  CHECK_EQ eax, 0, 17, "#DF error code on the task's stack"
  mov eax, [df_eip]
  mov ebx, offset df_insn
  CHECK_EQ eax, ebx, 18, "faulting EIP saved in the old TSS"
  mov eax, [df_link]
  CHECK_EQ eax, SEL_TSS_MAIN, 19, "back link of the #DF task"
  str ax
  and eax, 0xFFFF
  CHECK_EQ eax, SEL_TSS_MAIN, 20, "TR after the #DF task's IRET"
  jmp guest_pass

task2_entry:
  str ax
  mov [task2_tr], eax
  pushfd
  pop eax
  mov [task2_flags], eax
  movzx eax, word ptr [tss_task2]
  mov [task2_link], eax
  xor esi, esi
  iret

df_task:
  pop eax
  mov [df_error], eax
  mov eax, [tss_main + 0x20]
  mov [df_eip], eax
  movzx eax, word ptr [tss_df]
  mov [df_link], eax
  mov dword ptr [tss_main + 0x20], offset after_df
  iret

/* Base EAX into the descriptor at EBX. */
set_base:
  mov [ebx + 2], ax
  shr eax, 16
  mov [ebx + 4], al
  mov [ebx + 7], ah
  ret

/* Offset EAX into the call gate at EBX. */
set_gate_offset:
  mov [ebx], ax
  shr eax, 16
  mov [ebx + 6], ax
  ret

/* Flat ring-0 selectors into the TSS at EAX. */
set_flat_segments:
  mov dword ptr [eax + 0x48], SEL_DATA32 /* ES */
  mov dword ptr [eax + 0x4C], SEL_CODE32 /* CS */
  mov dword ptr [eax + 0x50], SEL_DATA32 /* SS */
  mov dword ptr [eax + 0x54], SEL_DATA32 /* DS */
  mov dword ptr [eax + 0x58], SEL_DATA32 /* FS */
  mov dword ptr [eax + 0x5C], SEL_DATA32 /* GS */
  mov word ptr [eax + 0x66], 0x68 /* no I/O bitmap */
  ret

.data
.balign 8
gdt:
  .quad 0
  .quad 0x00CF9A000000FFFF /* 0x08: code, ring 0 */
  .quad 0x00CF92000000FFFF /* 0x10: data, ring 0 */
  .quad 0x00CFFA000000FFFF /* 0x18: code, ring 3 */
  .quad 0x00CFF2000000FFFF /* 0x20: data, ring 3 */
  TSS_DESC(0x9)            /* 0x28: main task */
  TSS_DESC(0x9)            /* 0x30: task 2 */
  .quad 0x0000EC0100080000 /* 0x38: call gate, DPL 3, 1 parameter, to 0x08 */
  .quad 0x0000EC0000080000 /* 0x40: call gate, DPL 3, no parameters, to 0x08 */
  TSS_DESC(0x9)            /* 0x48: #DF task */
gdt_end:
gdt_pointer:
  .word gdt_end - gdt - 1
  .long gdt

.bss
.balign 16
tss_main: .skip 0x68
tss_task2: .skip 0x68
tss_df: .skip 0x68
idt_pointer: .skip 8
kernel_esp: .long 0
gate_cpl: .long 0
gate_param: .long 0
gate_esp: .long 0
gate_ss: .long 0
user_ds: .long 0
user_es: .long 0
user_esp: .long 0
task2_tr: .long 0
task2_flags: .long 0
task2_link: .long 0
df_error: .long 0
df_eip: .long 0
df_link: .long 0
.balign 16
.skip 1024
ring0_stack_top:
.skip 1024
user_stack_top:
.skip 1024
task2_stack_top:
.skip 1024
df_stack_top:

/* long64: a multiboot kernel that enters 64-bit long mode by itself. It
 * builds 4-level page tables (the first GiB identity-mapped with 2 MiB pages,
 * plus one 4 KiB page mapped a second time at HIGH_ALIAS), enables PAE,
 * EFER.LME and paging, and far-jumps into a 64-bit code segment. There it
 * checks EFER.LMA, that the high alias and the identity mapping see the same
 * memory, and 64-bit arithmetic: r8-r15, zero extension of 32-bit writes,
 * 64-bit multiply and divide, RIP-relative addressing, 64-bit push/pop. */
#include "guest.h"

GUEST_NAME long64

#define HIGH_ALIAS 0xFFFF800000003000 /* PML4 slot 256, PDPT 0, PD 0, PT 3 */
#define PAGE_TABLE_PAGES 7

.code32
.text
.globl guest_main
guest_main:
  SAY "building page tables"

  /* Zero the page-table pages (the loader zeroes .bss, but do not rely on it). */
  mov edi, offset pml4
  mov ecx, PAGE_TABLE_PAGES * 4096 / 4
  xor eax, eax
  rep stosd

  /* Identity map of the first GiB: PML4[0] -> pdpt_low[0] -> pd_low, 2 MiB pages. */
  mov dword ptr [pml4], offset pdpt_low + PTE_PRESENT_RW
  mov dword ptr [pdpt_low], offset pd_low + PTE_PRESENT_RW
  xor ecx, ecx
1:
  mov eax, ecx
  shl eax, 21
  or eax, PTE_PRESENT_RW | PTE_LARGE
  mov [pd_low + ecx * 8], eax
  inc ecx
  cmp ecx, 512
  jb 1b

  /* HIGH_ALIAS: PML4[256] -> pdpt_high[0] -> pd_high[0] -> pt_high[3] -> alias_page. */
  mov dword ptr [pml4 + 256 * 8], offset pdpt_high + PTE_PRESENT_RW
  mov dword ptr [pdpt_high], offset pd_high + PTE_PRESENT_RW
  mov dword ptr [pd_high], offset pt_high + PTE_PRESENT_RW
  mov dword ptr [pt_high + 3 * 8], offset alias_page + PTE_PRESENT_RW

  /* PAE, then CR3, then EFER.LME, then paging: long mode is active. */
  mov eax, cr4
  or eax, CR4_PAE
  mov cr4, eax
  mov eax, offset pml4
  mov cr3, eax
  mov ecx, MSR_EFER
  rdmsr
  or eax, EFER_LME
  wrmsr
  lgdt [gdt64_pointer]
  mov eax, cr0
  or eax, CR0_PG
  mov cr0, eax
  jmp SEL_CODE64:long_entry

.code64
long_entry:
  mov ax, SEL_DATA64
  mov ds, ax
  mov es, ax
  mov ss, ax
  lea rsp, [rip + stack_top]
  SAY64 "in 64-bit mode"

  mov ecx, MSR_EFER
  rdmsr
  and eax, EFER_LMA
  CHECK_EQ64 rax, EFER_LMA, 1, "EFER.LMA is clear"
  mov eax, cs
  CHECK_EQ64 rax, SEL_CODE64, 2, "CS after the far jump"

  /* Writes through the high alias show up in the identity mapping... */
  movabs rdi, HIGH_ALIAS
  movabs rbx, 0x1122334455667788
  mov [rdi + 0x10], rbx
  mov rax, [rip + alias_page + 0x10]
  CHECK_EQ64 rax, rbx, 3, "write through the high alias not seen at its physical page"
  /* ...and the other way round, at the page's last quadword. */
  not rbx
  mov [rip + alias_page + 0xFF8], rbx
  mov rax, [rdi + 0xFF8]
  CHECK_EQ64 rax, rbx, 4, "write to the physical page not seen through the high alias"

  /* General registers r8-r15, carries and 32-bit zero extension. */
  movabs r8, 0x8000000000000001
  mov r9, r8
  add r9, r8 /* 2, carry out */
  setc r10b
  movzx r10d, r10b /* 1 */
  mov r11, -1
  mov r11d, 5 /* a 32-bit write clears bits 63:32 */
  CHECK_EQ64 r11, 5, 6, "32-bit write did not zero-extend"
  mov r12, r8
  ror r12, 4 /* 0x1800000000000000 */
  mov r13, r12
  xor r13, r8 /* 0x9800000000000001 */
  mov r14, r13
  bswap r14 /* 0x0100000000000098 */
  lea r15, [r9 + r10]
  add r15, r11
  add r15, r14
  movabs rax, 0x01000000000000A0
  CHECK_EQ64 r15, rax, 7, "r8-r15 arithmetic"

  /* 64-bit multiply: (2^64 - 1)^2 = 0xFFFFFFFFFFFFFFFE:0000000000000001. */
  mov rax, -1
  mov rbx, -1
  mul rbx
  CHECK_EQ64 rax, 1, 8, "MUL low half"
  mov rbx, -2
  CHECK_EQ64 rdx, rbx, 9, "MUL high half"
  movabs rax, 0x123456789ABCDEF0
  mov rcx, 0x10
  imul rax, rcx
  movabs rbx, 0x23456789ABCDEF00
  CHECK_EQ64 rax, rbx, 10, "IMUL r64, r64"
  /* 2^64 / 2 = 2^63 remainder 0. */
  mov edx, 1
  xor eax, eax
  mov ecx, 2
  div rcx
  movabs rbx, 0x8000000000000000
  CHECK_EQ64 rax, rbx, 11, "DIV quotient"
  CHECK_EQ64 rdx, 0, 12, "DIV remainder"

  /* RIP-relative addressing and 64-bit push/pop. */
  lea rax, [rip + long_entry]
  mov rbx, offset long_entry
  CHECK_EQ64 rax, rbx, 13, "RIP-relative LEA"
  mov rbx, rsp
  push r15
  pop rax
  CHECK_EQ64 rax, r15, 14, "64-bit push/pop"
  CHECK_EQ64 rsp, rbx, 15, "RSP after push/pop"

  jmp guest_pass64

.section .rodata
.balign 8
gdt64:
  .quad 0
  .quad 0x00AF9A000000FFFF /* SEL_CODE64: 64-bit code (L = 1, D = 0) */
  .quad 0x00CF92000000FFFF /* SEL_DATA64 */
gdt64_end:
gdt64_pointer:
  .word gdt64_end - gdt64 - 1
  .long gdt64

.bss
.balign 4096
pml4: .skip 4096
pdpt_low: .skip 4096
pd_low: .skip 4096
pdpt_high: .skip 4096
pd_high: .skip 4096
pt_high: .skip 4096
alias_page: .skip 4096

/* Entry into 64-bit mode for guests that want to do their work there: from
 * the multiboot entry's 32-bit protected mode, identity-maps the first 4 GiB
 * with 2 MiB pages (so RAM, the test device and the APICs are all reachable),
 * enables PAE, EFER.LME and paging, and jumps to the guest's guest_main64
 * (64-bit code, must not return) with the stack of multiboot_entry.S. */
#include "guest.h"

#define PD_PAGES 4 /* 4 x 1 GiB */
#define TABLE_PAGES (2 + PD_PAGES)

.code32
.text
.globl enter_long_mode
enter_long_mode:
  mov edi, offset lm_pml4
  mov ecx, TABLE_PAGES * 4096 / 4
  xor eax, eax
  rep stosd
  mov dword ptr [lm_pml4], offset lm_pdpt + PTE_PRESENT_RW
  /* PDPT entry i -> page directory i. */
  xor ecx, ecx
1:
  mov eax, ecx
  shl eax, 12
  add eax, offset lm_pd + PTE_PRESENT_RW
  mov [lm_pdpt + ecx * 8], eax
  inc ecx
  cmp ecx, PD_PAGES
  jb 1b
  /* 2048 PDEs of 2 MiB each: physical = index << 21 (bits 32+ in the high dword). */
  xor ecx, ecx
1:
  mov eax, ecx
  shl eax, 21
  or eax, PTE_PRESENT_RW | PTE_LARGE
  mov [lm_pd + ecx * 8], eax
  mov eax, ecx
  shr eax, 11
  mov [lm_pd + ecx * 8 + 4], eax
  inc ecx
  cmp ecx, PD_PAGES * 512
  jb 1b

  mov eax, cr4
  or eax, CR4_PAE
  mov cr4, eax
  mov eax, offset lm_pml4
  mov cr3, eax
  mov ecx, MSR_EFER
  rdmsr
  or eax, EFER_LME
  wrmsr
  lgdt [lm_gdt_pointer]
  mov eax, cr0
  or eax, CR0_PG
  mov cr0, eax
  jmp SEL_CODE64:lm_entry

.code64
lm_entry:
  mov ax, SEL_DATA64
  mov ds, ax
  mov es, ax
  mov fs, ax
  mov gs, ax
  mov ss, ax
  lea rsp, [rip + stack_top]
  call guest_main64
  FAIL64 127, "guest_main64 returned"

.section .rodata
.balign 8
lm_gdt:
  .quad 0
  .quad 0x00AF9A000000FFFF /* SEL_CODE64: 64-bit code */
  .quad 0x00CF92000000FFFF /* SEL_DATA64 */
lm_gdt_end:
lm_gdt_pointer:
  .word lm_gdt_end - lm_gdt - 1
  .long lm_gdt

.bss
.balign 4096
lm_pml4: .skip 4096
lm_pdpt: .skip 4096
lm_pd: .skip PD_PAGES * 4096

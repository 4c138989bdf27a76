/* pm32: a multiboot kernel in 32-bit protected mode. Checks the multiboot
 * hand-over (EAX magic, the info structure EBX points at), loads its own GDT,
 * reloads the segment registers with a far jump, and checks that segment
 * bases apply (a data segment whose base is not 0) and that a far call and
 * far return through the new code segment work. */
#include "guest.h"

GUEST_NAME pm32

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_OFFSET_DATA 0x18 /* data segment with base OFFSET_BASE */
#define OFFSET_BASE 0x00300000

.code32
.text
.globl guest_main
guest_main:
  SAY "protected mode start"

  /* Multiboot hand-over. */
  mov eax, [mb_magic]
  CHECK_EQ eax, MULTIBOOT_BOOT_MAGIC, 1, "EAX at entry is not the multiboot magic"
  mov ebx, [mb_info]
  test ebx, ebx
  CHECK_CC nz, 2, "EBX at entry is 0"
  mov eax, [ebx] /* flags */
  test eax, 1
  CHECK_CC nz, 3, "multiboot info flags lack bit 0 (mem_lower/mem_upper)"
  mov eax, [ebx + 4] /* mem_lower, KiB */
  cmp eax, 640
  CHECK_CC be, 4, "multiboot mem_lower above 640 KiB"
  mov eax, [ebx + 8] /* mem_upper, KiB above 1 MiB */
  cmp eax, 1024
  CHECK_CC ae, 5, "multiboot mem_upper below 1 MiB"
  cmp eax, 4 * 1024 * 1024
  CHECK_CC b, 6, "multiboot mem_upper 4 GiB or more"

  /* Running in protected mode without paging. */
  mov eax, cr0
  and eax, 0x80000001
  CHECK_EQ eax, 1, 7, "CR0.PE/PG not 1/0"

  /* Our own GDT; a far jump loads CS from it. */
  lgdt [gdt_pointer]
  jmp SEL_CODE:1f
1:
  mov ax, SEL_DATA
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov gs, ax
  mov ax, SEL_OFFSET_DATA
  mov fs, ax
  mov eax, cs
  and eax, 0xFFFF
  CHECK_EQ eax, SEL_CODE, 8, "CS after the far jump"

  /* SGDT gives back what LGDT loaded. */
  sgdt [gdt_stored]
  movzx eax, word ptr [gdt_stored]
  CHECK_EQ eax, (gdt_end-gdt-1), 9, "SGDT limit"
  mov eax, [gdt_stored + 2]
  mov ecx, offset gdt
  CHECK_EQ eax, ecx, 10, "SGDT base"

  /* FS has base OFFSET_BASE: fs:[x] is linear OFFSET_BASE + x. */
  mov dword ptr [OFFSET_BASE + 0x40], 0x13579BDF
  mov eax, fs:[0x40]
  CHECK_EQ eax, 0x13579BDF, 11, "read through a segment with a non-zero base"
  mov dword ptr fs:[0x44], 0x2468ACE0
  mov eax, [OFFSET_BASE + 0x44]
  CHECK_EQ eax, 0x2468ACE0, 12, "write through a segment with a non-zero base"

  /* Far call and far return through our code segment. */
  mov dword ptr [far_cs], 0
  mov ebx, esp
  call SEL_CODE:far_target
  CHECK_EQ esp, ebx, 13, "ESP after the far return"
  mov eax, [far_cs]
  CHECK_EQ eax, SEL_CODE, 14, "CS inside the far call"

  SAY "own GDT loaded, segments reloaded"
  jmp guest_pass

far_target:
  mov eax, cs
  and eax, 0xFFFF
  mov [far_cs], eax
  retf

.section .rodata
.balign 8
gdt:
  .quad 0                  /* null */
  .quad 0x00CF9A000000FFFF /* SEL_CODE: 32-bit code, base 0, limit 4 GiB */
  .quad 0x00CF92000000FFFF /* SEL_DATA: data, base 0, limit 4 GiB */
  /* SEL_OFFSET_DATA: data, base OFFSET_BASE, limit 64 KiB (byte granular) */
  .word 0xFFFF, OFFSET_BASE & 0xFFFF
  .byte (OFFSET_BASE >> 16) & 0xFF, 0x92, 0x40, OFFSET_BASE >> 24
gdt_end:
gdt_pointer:
  .word gdt_end - gdt - 1
  .long gdt

.data
far_cs: .long 0
.balign 4
gdt_stored: .skip 6

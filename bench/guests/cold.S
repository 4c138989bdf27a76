/* cold: the cold-code CPU benchmark guest. The code to run is one long
 * straight run of distinct instructions made by gen_cold.py at build time
 * (cold_template, cold_template_insns instructions with no loop in it). The
 * guest copies it copies=N times (multiboot command line, default
 * DEFAULT_COPIES) back to back at REGION, puts a RET after the last copy and
 * calls the first: every instruction runs once at its own guest-physical
 * address, so a decode cache or translation cache gets no second use of
 * anything. With run=0 the guest copies but does not call (the start-up
 * baseline of the benchmark). In 64-bit long mode with paging. Prints
 * "BENCH cold instructions=N ticks=T" (see bench64.S). */
#include "guest.h"

GUEST_NAME cold

#define DEFAULT_COPIES 64
#define MAX_COPIES (1 << 20) /* keeps copies x template size far from overflow */
#define REGION 0x1000000     /* 16 MiB, above the image and its page tables */
#define IDENTITY_END 0x100000000 /* long_mode.S maps the first 4 GiB */
#define MB_INFO_FLAGS 0
#define MB_INFO_MEM_UPPER 8
#define MB_INFO_HAS_MEM (1 << 0)
/* Instructions of bench_work around the copies: 6 of its own and the RET
 * after the last copy; 3 with run=0. */
#define COLD_FIXED_INSNS 7
#define COLD_EMPTY_INSNS 3

.code64
.text
.globl bench_setup
bench_setup:
  lea rsi, [rip + .Lcopies]
  mov eax, DEFAULT_COPIES
  call bench_arg
  cmp rax, MAX_COPIES
  jbe 1f
  FAIL64 4, "copies= is larger than 2^20"
1:
  mov [rip + copies], rax
  lea rsi, [rip + .Lrun]
  mov eax, 1
  call bench_arg
  mov [rip + run], rax

  /* The copies and the final RET must fit between REGION and the end of
   * RAM (1 MiB + mem_upper KiB), within the identity map. */
  mov eax, [rip + mb_info]
  test dword ptr [rax + MB_INFO_FLAGS], MB_INFO_HAS_MEM
  jnz 2f
  FAIL64 5, "the multiboot loader gave no memory size"
2:
  mov edx, [rax + MB_INFO_MEM_UPPER]
  shl rdx, 10
  add rdx, 0x100000
  movabs rcx, IDENTITY_END
  cmp rdx, rcx
  cmova rdx, rcx
  sub rdx, REGION + 1 /* room for the copies */
  ja 3f
  FAIL64 6, "the guest needs more than 16 MiB of memory"
3:
  lea r9, [rip + cold_template_end]
  lea rax, [rip + cold_template]
  sub r9, rax /* bytes of one copy */
  mov rax, [rip + copies]
  imul rax, r9
  cmp rax, rdx
  jbe 4f
  FAIL64 7, "copies= does not fit in the guest's memory (give it more)"
4:
  mov edi, REGION
  mov r8, [rip + copies]
5:
  test r8, r8
  jz 6f
  lea rsi, [rip + cold_template]
  mov rcx, r9
  rep movsb
  dec r8
  jmp 5b
6:
  mov byte ptr [rdi], 0xC3 /* RET */

  cmp qword ptr [rip + run], 0
  je 7f
  mov rax, [rip + copies]
  imul rax, [rip + cold_template_insns]
  add rax, COLD_FIXED_INSNS
  ret
7:
  mov eax, COLD_EMPTY_INSNS
  ret

.globl bench_work
bench_work:
  cmp qword ptr [rip + run], 0
  je 1f
  lea rbx, [rip + cold_data]
  mov eax, REGION
  call rax
1:
  ret

.section .rodata
.Lcopies: .asciz "copies="
.Lrun: .asciz "run="

.bss
.balign 4096
cold_data: .skip 8192
.balign 8
copies: .quad 0
run: .quad 0

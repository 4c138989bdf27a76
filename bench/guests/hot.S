/* hot: the hot-code CPU benchmark guest. One loop of 37 instructions per
 * iteration (HOT_BODY_INSNS), run iters=N times (multiboot command line,
 * default DEFAULT_ITERS) in 64-bit long mode with paging: arithmetic
 * (add, sub, xor, imul, shifts, rotates, lea), loads and stores of 8, 2 and
 * 1 bytes to two data pages, a conditional branch that alternates between
 * two paths of the same length, a CMOV, push/pop, and a call and return.
 * Prints "BENCH hot instructions=N ticks=T" (see bench64.S). */
#include "guest.h"

GUEST_NAME hot

#define DEFAULT_ITERS 1000000
#define MAX_ITERS 1000000000000 /* 10^12 iterations: hours even on KVM */
/* Instructions of bench_work: HEAD before the loop, BODY per iteration
 * (hot_func included), 1 for the final RET; EMPTY when iters=0. */
#define HOT_HEAD_INSNS 11
#define HOT_BODY_INSNS 37
#define HOT_EMPTY_INSNS 4

.code64
.text
.globl bench_setup
bench_setup:
  lea rsi, [rip + .Lkey]
  mov eax, DEFAULT_ITERS
  call bench_arg
  movabs rcx, MAX_ITERS
  cmp rax, rcx
  jbe 1f
  FAIL64 4, "iters= is larger than 10^12"
1:
  mov [rip + iters], rax
  test rax, rax
  jz 2f
  imul rax, rax, HOT_BODY_INSNS
  add rax, HOT_HEAD_INSNS + 1
  ret
2:
  mov eax, HOT_EMPTY_INSNS
  ret

.globl bench_work
bench_work:
  mov rcx, [rip + iters]
  test rcx, rcx
  jz .Ldone
  lea rbx, [rip + hot_data]
  movabs r8, 0x0123456789ABCDEF
  mov r9, 1
  mov r10, 2
  xor r11d, r11d
  xor r12d, r12d
  xor r13d, r13d
  xor r14d, r14d /* 11 instructions to here: HOT_HEAD_INSNS */
.Lloop:
  mov eax, ecx
  and eax, 0x1FF
  mov rdx, [rbx + rax * 8]
  add rdx, rcx
  imul rdx, rdx, 0x2545F491
  xor rdx, r8
  mov [rbx + rax * 8], rdx
  add r8, rdx
  rol r8, 13
  lea r9, [r9 + r8 * 2 + 7]
  sub r10, r9
  mov r11, r10
  shr r11, 3
  cmp r11, rdx
  cmovb r11, rdx
  test cl, 1
  jz 1f
  add r12, rdx /* odd iterations: 3 instructions... */
  inc r13
  jmp 2f
1:
  sub r12, rdx /* ...even iterations: 3 instructions */
  dec r13
  xor r14, rax
2:
  mov rdi, rdx
  call hot_func /* 5 instructions with its RET */
  push r8
  push r9
  pop r15
  pop rsi
  add r15, rsi
  movzx esi, byte ptr [rbx + rax + 4096]
  add r14, rsi
  mov [rbx + rax * 2 + 4096], si
  dec rcx
  jnz .Lloop /* 32 instructions in the loop itself + 5 in hot_func */
.Ldone:
  ret

hot_func:
  mov rsi, rdi
  shl rsi, 3
  sub rsi, rdi
  add r14, rsi
  ret

.section .rodata
.Lkey: .asciz "iters="

.bss
.balign 4096
hot_data: .skip 8192
.balign 8
iters: .quad 0

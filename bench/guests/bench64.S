/* Frame of the CPU benchmark guests (bench/guests): a multiboot kernel that
 * enters 64-bit long mode with paging (tests/guests/lib/long_mode.S), asks
 * the guest for its work (bench_setup), runs it (bench_work), and prints
 *
 *   BENCH <name> instructions=<N> ticks=<T>
 *
 * then exits through the debug-exit port with 0 (VMM exit status 1).
 *
 * N is the exact number of instructions bench_work executes, from its first
 * instruction to its final RET included, as computed by bench_setup from the
 * guest's static counts. T is the TSC difference across the call of
 * bench_work: under QEMU with -icount shift=0 the TSC advances by one per
 * instruction, so T - N is a small constant (the TSC reads' own glue), which
 * is how the smoke test checks the static counts.
 *
 * The guest provides, in 64-bit code:
 *   bench_setup: reads its arguments with bench_arg, prepares the work and
 *                returns in RAX the instruction count of bench_work; may
 *                end the run with FAIL64 on bad arguments.
 *   bench_work:  the measured code; ends with RET; may clobber every
 *                general register but RSP.
 * Arguments come from the multiboot command line as words KEY=DECIMAL. */
#include "guest.h"

#define MB_INFO_FLAGS 0
#define MB_INFO_CMDLINE 16
#define MB_INFO_HAS_CMDLINE (1 << 2)
#define MAX_DIGITS 18 /* keeps every accepted value below 10^18 */

.code32
.text
.globl guest_main
guest_main:
  cmp dword ptr [mb_magic], MULTIBOOT_BOOT_MAGIC
  CHECK_CC e, 2, "not started by a multiboot loader"
  jmp enter_long_mode

.code64
.globl guest_main64
guest_main64:
  call bench_setup
  mov [rip + work_insns], rax
  rdtsc
  shl rdx, 32
  or rax, rdx
  mov [rip + tsc_start], rax
  call bench_work
  rdtsc
  shl rdx, 32
  or rax, rdx
  sub rax, [rip + tsc_start]
  mov [rip + tsc_delta], rax

  lea rsi, [rip + .Lbench]
  call serial_puts64
  lea rsi, [rip + guest_name]
  call serial_puts64
  lea rsi, [rip + .Linsns]
  call serial_puts64
  mov rax, [rip + work_insns]
  call bench_putdec
  lea rsi, [rip + .Lticks]
  call serial_puts64
  mov rax, [rip + tsc_delta]
  call bench_putdec
  mov al, '\n'
  call serial_putc64
  xor eax, eax
  jmp guest_exit64

/* Prints RAX in decimal. */
bench_putdec:
  push rbx
  push rcx
  push rdx
  lea rbx, [rip + digit_buffer_end]
  mov ecx, 10
1:
  xor edx, edx
  div rcx
  add dl, '0'
  dec rbx
  mov [rbx], dl
  test rax, rax
  jnz 1b
2:
  mov al, [rbx]
  call serial_putc64
  inc rbx
  lea rdx, [rip + digit_buffer_end]
  cmp rbx, rdx
  jb 2b
  pop rdx
  pop rcx
  pop rbx
  ret

/* bench_arg: RSI = NUL-terminated key including its '=' (e.g. "iters="),
 * RAX = default. Returns in RAX the decimal value of the first word of the
 * command line that starts with the key, or the default when there is none.
 * A value that is empty, not all digits up to the next space, or longer than
 * MAX_DIGITS ends the run with a FAIL line. Clobbers RCX, RDX, RDI, R8. */
.globl bench_arg
bench_arg:
  mov r8, rax
  mov eax, [rip + mb_info]
  test dword ptr [rax + MB_INFO_FLAGS], MB_INFO_HAS_CMDLINE
  jz .Ldefault
  mov edi, [rax + MB_INFO_CMDLINE] /* RDI walks the command line */
  mov rdx, rdi                     /* its start */
.Lword:
  cmp byte ptr [rdi], 0
  je .Ldefault
  cmp rdi, rdx /* a word starts at the beginning or after a space */
  je 1f
  cmp byte ptr [rdi - 1], ' '
  jne .Lnext
1:
  xor ecx, ecx /* compare the key */
2:
  mov al, [rsi + rcx]
  test al, al
  jz .Lvalue
  cmp al, [rdi + rcx]
  jne .Lnext
  inc rcx
  jmp 2b
.Lnext:
  inc rdi
  jmp .Lword
.Lvalue:
  add rdi, rcx
  xor eax, eax
  xor ecx, ecx /* digits seen */
3:
  movzx edx, byte ptr [rdi]
  test dl, dl
  jz 4f
  cmp dl, ' '
  je 4f
  sub dl, '0'
  cmp dl, 9
  ja .Lbad
  inc ecx
  cmp ecx, MAX_DIGITS
  ja .Lbad
  imul rax, rax, 10
  add rax, rdx
  inc rdi
  jmp 3b
4:
  test ecx, ecx
  jz .Lbad
  ret
.Ldefault:
  mov rax, r8
  ret
.Lbad:
  FAIL64 3, "bad number in a KEY=VALUE word of the command line"

.section .rodata
.Lbench: .asciz "BENCH "
.Linsns: .asciz " instructions="
.Lticks: .asciz " ticks="

.bss
.balign 8
work_insns: .quad 0
tsc_start: .quad 0
tsc_delta: .quad 0
digit_buffer: .skip 24
digit_buffer_end:

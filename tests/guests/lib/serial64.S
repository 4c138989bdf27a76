/* Console and exit routines for 64-bit code: the long-mode twins of
 * serial32.S (COM1 output, debug-exit). */
#include "guest.h"

.code64
.text

/* Writes the byte in AL to COM1 (bounded wait for an empty transmitter). */
.globl serial_putc64
serial_putc64:
  push rcx
  push rdx
  push rax
  mov ecx, 100000
  mov dx, COM1_LSR
1:
  in al, dx
  test al, LSR_THR_EMPTY
  jnz 2f
  pause
  dec ecx
  jnz 1b
2:
  pop rax
  mov dx, COM1_THR
  out dx, al
  pop rdx
  pop rcx
  ret

/* Writes the NUL-terminated string at RSI. */
.globl serial_puts64
serial_puts64:
  push rsi
  push rax
1:
  lodsb
  test al, al
  jz 2f
  call serial_putc64
  jmp 1b
2:
  pop rax
  pop rsi
  ret

/* Writes RAX as "0x" and sixteen hex digits. */
serial_puthex64:
  push rax
  push rcx
  push rdx
  mov rdx, rax
  mov al, '0'
  call serial_putc64
  mov al, 'x'
  call serial_putc64
  mov ecx, 16
1:
  rol rdx, 4
  mov al, dl
  and al, 0xF
  add al, '0'
  cmp al, '9'
  jbe 2f
  add al, 'A' - '9' - 1
2:
  call serial_putc64
  dec ecx
  jnz 1b
  pop rdx
  pop rcx
  pop rax
  ret

/* Writes "guest <name>: ". */
guest_prefix64:
  push rsi
  lea rsi, [rip + .Lguest]
  call serial_puts64
  lea rsi, [rip + guest_name]
  call serial_puts64
  lea rsi, [rip + .Lcolon]
  call serial_puts64
  pop rsi
  ret

/* Prints "guest <name>: <string at RSI>" and a newline. */
.globl guest_say64
guest_say64:
  call guest_prefix64
  call serial_puts64
  push rax
  mov al, '\n'
  call serial_putc64
  pop rax
  ret

/* Prints PASS and exits with code 0. */
.globl guest_pass64
guest_pass64:
  lea rsi, [rip + .Lpass]
  call guest_say64
  xor eax, eax
  jmp guest_exit64

/* Prints "FAIL: <string at RSI>" and exits with the code in EAX. */
.globl guest_fail64
guest_fail64:
  mov ebx, eax
  mov rax, rsi
  lea rsi, [rip + .Lfail]
  call guest_prefix64
  call serial_puts64
  mov rsi, rax
  call serial_puts64
  mov al, '\n'
  call serial_putc64
  mov eax, ebx
  jmp guest_exit64

/* Like guest_fail64, and appends " (got <RDX in hex>)". */
.globl guest_fail_got64
guest_fail_got64:
  mov ebx, eax
  mov rax, rsi
  lea rsi, [rip + .Lfail]
  call guest_prefix64
  call serial_puts64
  mov rsi, rax
  call serial_puts64
  lea rsi, [rip + .Lgot]
  call serial_puts64
  mov rax, rdx
  call serial_puthex64
  mov al, ')'
  call serial_putc64
  mov al, '\n'
  call serial_putc64
  mov eax, ebx
  jmp guest_exit64

/* Writes AL to the debug-exit port, then halts for good. */
.globl guest_exit64
guest_exit64:
  out DEBUG_EXIT_PORT, al
1:
  cli
  hlt
  jmp 1b

.section .rodata
.Lguest: .asciz "guest "
.Lcolon: .asciz ": "
.Lpass: .asciz "PASS"
.Lfail: .asciz "FAIL: "
.Lgot: .asciz " (got "

/* Console and exit routines for 32-bit guests: print over COM1 (polling the
 * line status register) and end the run through the debug-exit port. */
#include "guest.h"

.code32
.text

/* Writes the byte in AL to COM1. Waits for the transmitter to be empty, but
 * only a bounded number of polls, so a broken UART model cannot hang us. */
.globl serial_putc
serial_putc:
  push ecx
  push edx
  push eax
  mov ecx, 100000
  mov dx, COM1_LSR
1:
  in al, dx
  test al, LSR_THR_EMPTY
  jnz 2f
  pause
  loop 1b
2:
  pop eax
  mov dx, COM1_THR
  out dx, al
  pop edx
  pop ecx
  ret

/* Writes the NUL-terminated string at ESI. */
.globl serial_puts
serial_puts:
  push esi
  push eax
1:
  lodsb
  test al, al
  jz 2f
  call serial_putc
  jmp 1b
2:
  pop eax
  pop esi
  ret

/* Writes EAX as "0x" and eight hex digits. */
.globl serial_puthex32
serial_puthex32:
  push eax
  push ecx
  push edx
  mov edx, eax
  mov al, '0'
  call serial_putc
  mov al, 'x'
  call serial_putc
  mov ecx, 8
1:
  rol edx, 4
  mov al, dl
  and al, 0xF
  add al, '0'
  cmp al, '9'
  jbe 2f
  add al, 'A' - '9' - 1
2:
  call serial_putc
  loop 1b
  pop edx
  pop ecx
  pop eax
  ret

/* Writes "guest <name>: ". */
.globl guest_prefix
guest_prefix:
  push esi
  mov esi, offset .Lguest
  call serial_puts
  mov esi, offset guest_name
  call serial_puts
  mov esi, offset .Lcolon
  call serial_puts
  pop esi
  ret

/* Prints "guest <name>: <string at ESI>" and a newline. */
.globl guest_say
guest_say:
  call guest_prefix
  call serial_puts
  push eax
  mov al, '\n'
  call serial_putc
  pop eax
  ret

/* Prints PASS and exits with code 0. */
.globl guest_pass
guest_pass:
  mov esi, offset .Lpass
  call guest_say
  xor eax, eax
  jmp guest_exit

/* Prints "FAIL: <string at ESI>" and exits with the code in EAX. */
.globl guest_fail
guest_fail:
  mov ebx, eax
  mov eax, esi
  mov esi, offset .Lfail
  call guest_prefix
  call serial_puts
  mov esi, eax
  call serial_puts
  mov al, '\n'
  call serial_putc
  mov eax, ebx
  jmp guest_exit

/* Like guest_fail, and appends " (got <EDX in hex>)". */
.globl guest_fail_got
guest_fail_got:
  mov ebx, eax
  mov eax, esi
  mov esi, offset .Lfail
  call guest_prefix
  call serial_puts
  mov esi, eax
  call serial_puts
  mov esi, offset .Lgot
  call serial_puts
  mov eax, edx
  call serial_puthex32
  mov al, ')'
  call serial_putc
  mov al, '\n'
  call serial_putc
  mov eax, ebx
  jmp guest_exit

/* Writes AL to the debug-exit port, then halts for good in case the exit
 * takes effect only later. */
.globl guest_exit
guest_exit:
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

/* Console and exit routines for 16-bit real-mode guests: the real-mode twins
 * of serial32.S. They assume DS = 0 (data addressed by linear address). */
#include "guest.h"

.code16
.text

/* Writes the byte in AL to COM1 (bounded wait for an empty transmitter). */
serial_putc16:
  push cx
  push dx
  push ax
  mov cx, 50000
  mov dx, COM1_LSR
1:
  in al, dx
  test al, LSR_THR_EMPTY
  jnz 2f
  pause
  loop 1b
2:
  pop ax
  mov dx, COM1_THR
  out dx, al
  pop dx
  pop cx
  ret

/* Writes the NUL-terminated string at DS:SI. */
serial_puts16:
  push si
  push ax
1:
  lodsb
  test al, al
  jz 2f
  call serial_putc16
  jmp 1b
2:
  pop ax
  pop si
  ret

/* Writes DX as "0x" and four hex digits. */
serial_puthex16:
  push ax
  push cx
  push dx
  mov al, '0'
  call serial_putc16
  mov al, 'x'
  call serial_putc16
  mov cx, 4
1:
  rol dx, 4
  mov al, dl
  and al, 0xF
  add al, '0'
  cmp al, '9'
  jbe 2f
  add al, 'A' - '9' - 1
2:
  call serial_putc16
  loop 1b
  pop dx
  pop cx
  pop ax
  ret

/* Writes "guest <name>: ". */
guest_prefix16:
  push si
  mov si, offset .Lguest
  call serial_puts16
  mov si, offset guest_name
  call serial_puts16
  mov si, offset .Lcolon
  call serial_puts16
  pop si
  ret

/* Prints "guest <name>: <string at SI>" and a newline. */
.globl guest_say16
guest_say16:
  call guest_prefix16
  call serial_puts16
  push ax
  mov al, '\n'
  call serial_putc16
  pop ax
  ret

/* Prints PASS and exits with code 0. */
.globl guest_pass16
guest_pass16:
  mov si, offset .Lpass
  call guest_say16
  xor ax, ax
  jmp guest_exit16

/* Prints "FAIL: <string at SI> (got <DX in hex>)" and exits with code AX. */
.globl guest_fail_got16
guest_fail_got16:
  mov bx, ax
  mov ax, si
  mov si, offset .Lfail
  call guest_prefix16
  call serial_puts16
  mov si, ax
  call serial_puts16
  mov si, offset .Lgot
  call serial_puts16
  call serial_puthex16
  mov al, ')'
  call serial_putc16
  mov al, '\n'
  call serial_putc16
  mov ax, bx
  jmp guest_exit16

/* Writes AL to the debug-exit port, then halts for good. */
.globl guest_exit16
guest_exit16:
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

/* Shared definitions for the test guests: platform constants (they mirror
 * src/base/pc_layout.h and the test device described in DESIGN/brief) and
 * the assembler macros the guests use to report a line, check a value and
 * fail. Every guest source starts with `#include "guest.h"`. Syntax: GNU as,
 * .intel_syntax noprefix. */
#pragma once

.intel_syntax noprefix
.section .note.GNU-stack, "", @progbits
.text

/* Serial port COM1 (16550): transmit holding register and line status. */
#define COM1_THR 0x3F8
#define COM1_LSR 0x3FD
#define LSR_THR_EMPTY 0x20

/* isa-debug-exit style port: writing v ends the VMM with status (v << 1) | 1. */
#define DEBUG_EXIT_PORT 0xF4

/* The test device: the same 32-bit registers in the port and MMIO windows. */
#define TESTDEV_PORT 0x510
#define TESTDEV_MMIO 0xD0000000
#define TESTDEV_ID 0x0
#define TESTDEV_SCRATCH 0x4
#define TESTDEV_IRQ 0x8
#define TESTDEV_COUNTER 0xC
#define TESTDEV_ID_VALUE 0x4C535356 /* "VSSL" in memory order */
#define TESTDEV_GSI 10

/* Interrupt controllers. */
#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1
#define IOAPIC_BASE 0xFEC00000
#define IOAPIC_INDEX (IOAPIC_BASE + 0x00)
#define IOAPIC_DATA (IOAPIC_BASE + 0x10)
#define LAPIC_BASE 0xFEE00000
#define LAPIC_ID (LAPIC_BASE + 0x20)
#define LAPIC_TPR (LAPIC_BASE + 0x80)
#define LAPIC_EOI (LAPIC_BASE + 0xB0)
#define LAPIC_SVR (LAPIC_BASE + 0xF0)
#define LAPIC_ISR0 (LAPIC_BASE + 0x100)

/* Multiboot v1. */
#define MULTIBOOT_HEADER_MAGIC 0x1BADB002
#define MULTIBOOT_BOOT_MAGIC 0x2BADB002

/* Selectors of the flat GDT in lib/gdt32.S. */
#define SEL_CODE32 0x08
#define SEL_DATA32 0x10
/* Selectors of the GDT in lib/long_mode.S (and long64.S). */
#define SEL_CODE64 0x08
#define SEL_DATA64 0x10

/* Long mode. */
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)
#define EFER_LMA (1 << 10)
#define CR4_PAE (1 << 5)
#define CR0_PG (1 << 31)
#define PTE_PRESENT_RW 0x3
#define PTE_LARGE 0x80

/* ---- Macros for 32-bit guests (lib/serial32.S) ----------------------------- */

/* Defines the guest's name, printed at the start of every line. */
.macro GUEST_NAME name
  .pushsection .rodata
  .globl guest_name
guest_name: .asciz "\name"
  .popsection
.endm

/* Prints "guest <name>: <msg>". */
.macro SAY msg
  .pushsection .rodata
.Lsay\@: .asciz "\msg"
  .popsection
  push esi
  mov esi, offset .Lsay\@
  call guest_say
  pop esi
.endm

/* Prints "guest <name>: FAIL: <msg>" and exits with `code`. */
.macro FAIL code, msg
  .pushsection .rodata
.Lfail\@: .asciz "\msg"
  .popsection
  mov esi, offset .Lfail\@
  mov eax, \code
  jmp guest_fail
.endm

/* Fails with `code` unless the 32-bit operand `a` equals `b`; the message
 * then also shows the value of `a`. Flags are clobbered. */
.macro CHECK_EQ a, b, code, msg
  cmp \a, \b
  je .Lok\@
  .pushsection .rodata
.Lfail\@: .asciz "\msg"
  .popsection
  mov edx, \a
  mov esi, offset .Lfail\@
  mov eax, \code
  jmp guest_fail_got
.Lok\@:
.endm

/* Fails with `code` unless the flags satisfy condition `cc` (e, ne, b, ...). */
.macro CHECK_CC cc, code, msg
  j\cc .Lok\@
  FAIL \code, "\msg"
.Lok\@:
.endm

/* ---- Macros for 64-bit code (lib/serial64.S) ------------------------------- */

.macro SAY64 msg
  .pushsection .rodata
.Lsay\@: .asciz "\msg"
  .popsection
  push rsi
  lea rsi, [rip + .Lsay\@]
  call guest_say64
  pop rsi
.endm

.macro FAIL64 code, msg
  .pushsection .rodata
.Lfail\@: .asciz "\msg"
  .popsection
  lea rsi, [rip + .Lfail\@]
  mov eax, \code
  jmp guest_fail64
.endm

/* `b` must be a register or a sign-extended 32-bit immediate. */
.macro CHECK_EQ64 a, b, code, msg
  cmp \a, \b
  je .Lok\@
  .pushsection .rodata
.Lfail\@: .asciz "\msg"
  .popsection
  mov rdx, \a
  lea rsi, [rip + .Lfail\@]
  mov eax, \code
  jmp guest_fail_got64
.Lok\@:
.endm

/* ---- Macros for 16-bit real-mode code (lib/serial16.S) --------------------- */

.macro SAY16 msg
  .pushsection .rodata
.Lsay\@: .asciz "\msg"
  .popsection
  push si
  mov si, offset .Lsay\@
  call guest_say16
  pop si
.endm

/* `a` is a 16-bit operand. */
.macro CHECK_EQ16 a, b, code, msg
  cmp \a, \b
  je .Lok\@
  .pushsection .rodata
.Lfail\@: .asciz "\msg"
  .popsection
  mov dx, \a
  mov si, offset .Lfail\@
  mov ax, \code
  jmp guest_fail_got16
.Lok\@:
.endm

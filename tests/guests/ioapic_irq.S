/* ioapic_irq: an interrupt from the test device through the IOAPIC and the
 * local APIC, taken in 64-bit mode. Enters long mode (lib/long_mode.S), sets
 * up an IDT, remaps and masks both 8259 PICs, enables the xAPIC, routes
 * IOAPIC pin TESTDEV_GSI to vector IRQ_VECTOR and has the test device raise
 * it: first edge-triggered (a pulse), then level-triggered (the handler
 * lowers the line before its EOI; Remote IRR must be set in the handler and
 * clear after it, and the interrupt must not come back), then with the pin
 * masked (no interrupt). Any other vector fails the test. */
#include "guest.h"

GUEST_NAME ioapic_irq

#define IRQ_VECTOR 0x40
#define SPURIOUS_VECTOR 0xFF
#define PORT_IRQ (TESTDEV_PORT + TESTDEV_IRQ)
/* QEMU_TWIN: the build run under QEMU (a check of the host's KVM, see
 * run-guest.sh) drives the line through QEMU's pc-testdev instead: a byte
 * written at port 0x2000 + n sets ISA line n to that level. */
#define PC_TESTDEV_IRQ (0x2000 + TESTDEV_GSI)

/* Drives the test line: IRQ_LINE 1 pulses it, 2 raises it, 0 lowers it.
 * Clobbers EAX and DX. */
.macro IRQ_LINE op
#ifdef QEMU_TWIN
  mov dx, PC_TESTDEV_IRQ
  .if \op == 0
  xor eax, eax
  out dx, al
  .else
  mov eax, 1
  out dx, al
  .if \op == 1
  xor eax, eax
  out dx, al
  .endif
  .endif
#else
  mov dx, PORT_IRQ
  mov eax, \op
  out dx, eax
#endif
.endm
#define REDIR_LOW (0x10 + 2 * TESTDEV_GSI)
#define REDIR_HIGH (REDIR_LOW + 1)
#define REDIR_LEVEL (1 << 15)
#define REDIR_REMOTE_IRR (1 << 14)
#define REDIR_MASKED (1 << 16)
#define WAIT_LOOPS 1000
#define QUIET_SPINS 200000

/* The APICs are above 2 GiB, out of reach of a sign-extended 32-bit
 * displacement: they are addressed through these registers. */
#define LAPIC r12
#define IOAPIC r13

.code32
.text
.globl guest_main
guest_main:
  SAY "interrupt test start"
  jmp enter_long_mode

.code64
.globl guest_main64
guest_main64:
  mov LAPIC, LAPIC_BASE
  mov IOAPIC, IOAPIC_BASE
  call idt64_init
  mov eax, IRQ_VECTOR
  lea rdx, [rip + irq_handler]
  call idt64_set_gate
  mov eax, SPURIOUS_VECTOR
  lea rdx, [rip + spurious_handler]
  call idt64_set_gate

  /* 8259 PICs: ICW1-ICW4 put them at vectors 0x20-0x2F, then mask all lines. */
  mov al, 0x11 /* ICW1: edge, cascade, ICW4 follows */
  out PIC1_CMD, al
  out PIC2_CMD, al
  mov al, 0x20 /* ICW2: vector bases */
  out PIC1_DATA, al
  mov al, 0x28
  out PIC2_DATA, al
  mov al, 0x04 /* ICW3: slave on IRQ 2 */
  out PIC1_DATA, al
  mov al, 0x02
  out PIC2_DATA, al
  mov al, 0x01 /* ICW4: 8086 mode */
  out PIC1_DATA, al
  out PIC2_DATA, al
  mov al, 0xFF
  out PIC1_DATA, al
  out PIC2_DATA, al

  /* Local APIC: accept every priority, software-enable, spurious vector. */
  mov dword ptr [LAPIC + LAPIC_TPR - LAPIC_BASE], 0
  mov dword ptr [LAPIC + LAPIC_SVR - LAPIC_BASE], 0x100 | SPURIOUS_VECTOR
  mov eax, [LAPIC + LAPIC_SVR - LAPIC_BASE]
  and eax, 0x1FF
  CHECK_EQ64 rax, 0x100 | SPURIOUS_VECTOR, 1, "LAPIC SVR did not keep its value"
  mov eax, [LAPIC + LAPIC_ID - LAPIC_BASE]
  shr eax, 24
  mov [rip + apic_id], eax

  /* The IOAPIC has a redirection entry for our pin. */
  mov dword ptr [IOAPIC], 1 /* version register */
  mov eax, [IOAPIC + 0x10]
  shr eax, 16
  and eax, 0xFF
  cmp eax, TESTDEV_GSI
  jae 1f
  FAIL64 2, "IOAPIC version register: too few redirection entries"
1:

  /* Round 1: edge-triggered; the device pulses the line. */
  mov eax, IRQ_VECTOR
  call ioapic_route
  mov dword ptr [rip + level_mode], 0
  call reset_records
  sti
  IRQ_LINE 1
  call wait_for_irq
  CHECK_EQ64 rax, 0, 3, "edge interrupt never arrived"
  call quiet_spin
  mov eax, [rip + irq_count]
  CHECK_EQ64 rax, 1, 4, "edge interrupt count"
  SAY64 "edge-triggered interrupt delivered"

  /* Round 2: level-triggered; the device raises the line, the handler
   * lowers it before the EOI. */
  cli
  mov eax, IRQ_VECTOR | REDIR_LEVEL
  call ioapic_route
  mov dword ptr [rip + level_mode], 1
  call reset_records
  sti
  IRQ_LINE 2
  call wait_for_irq
  CHECK_EQ64 rax, 0, 7, "level interrupt never arrived"
  call quiet_spin
  mov eax, [rip + irq_count]
  CHECK_EQ64 rax, 1, 8, "level interrupt count (the interrupt came back)"
  mov eax, [rip + remote_irr_seen]
  CHECK_EQ64 rax, REDIR_REMOTE_IRR, 10, "IOAPIC Remote IRR in the level handler"
  cli
  mov dword ptr [IOAPIC], REDIR_LOW
  mov eax, [IOAPIC + 0x10]
  sti
  and eax, REDIR_REMOTE_IRR
  CHECK_EQ64 rax, 0, 11, "IOAPIC Remote IRR still set after EOI"
  SAY64 "level-triggered interrupt delivered"

  /* Round 3: masked pin; a pulse must not be delivered. */
  cli
  mov eax, IRQ_VECTOR | REDIR_MASKED
  call ioapic_route
  mov dword ptr [rip + level_mode], 0
  call reset_records
  sti
  IRQ_LINE 1
  call quiet_spin
  mov eax, [rip + irq_count]
  CHECK_EQ64 rax, 0, 12, "interrupt delivered from a masked IOAPIC pin"

  cli
  jmp guest_pass64

/* Writes redirection entry TESTDEV_GSI: low word EAX (vector and mode bits),
 * destination our APIC id, physical mode, fixed delivery. Call with IF = 0. */
ioapic_route:
  push rdx
  mov edx, [rip + apic_id]
  shl edx, 24
  mov dword ptr [IOAPIC], REDIR_HIGH
  mov [IOAPIC + 0x10], edx
  mov dword ptr [IOAPIC], REDIR_LOW
  mov [IOAPIC + 0x10], eax
  pop rdx
  ret

reset_records:
  mov dword ptr [rip + irq_count], 0
  mov dword ptr [rip + remote_irr_seen], 0
  ret

/* Halts until the handler has run; RAX = 0 when it did, 1 when WAIT_LOOPS
 * wake-ups passed without it. Returns with IF = 1. */
wait_for_irq:
  push rcx
  mov ecx, WAIT_LOOPS
1:
  cli
  cmp dword ptr [rip + irq_count], 0
  jne 2f
  sti /* STI's interrupt shadow covers the HLT: no wake-up is lost */
  hlt
  dec ecx
  jnz 1b
  mov eax, 1
  pop rcx
  ret
2:
  sti
  xor eax, eax
  pop rcx
  ret

/* Spins a while with interrupts enabled, so that a wrongly repeated or
 * wrongly delivered interrupt gets its chance to arrive. */
quiet_spin:
  push rcx
  mov ecx, QUIET_SPINS
1:
  pause
  dec ecx
  jnz 1b
  pop rcx
  ret

irq_handler:
  push rax
  push rdx
  inc dword ptr [rip + irq_count]
  cmp dword ptr [rip + level_mode], 0
  je 1f
  mov dword ptr [IOAPIC], REDIR_LOW
  mov eax, [IOAPIC + 0x10]
  and eax, REDIR_REMOTE_IRR
  mov [rip + remote_irr_seen], eax
  IRQ_LINE 0 /* lower the line before the EOI */
1:
  mov dword ptr [LAPIC + LAPIC_EOI - LAPIC_BASE], 0
  pop rdx
  pop rax
  iretq

/* A spurious interrupt gets no EOI. */
spurious_handler:
  iretq

.bss
.balign 4
apic_id: .long 0
level_mode: .long 0
irq_count: .long 0
remote_irr_seen: .long 0

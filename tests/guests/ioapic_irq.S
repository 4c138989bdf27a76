/* ioapic_irq: an interrupt from the test device through the IOAPIC and the
 * local APIC. Sets up a GDT and IDT, remaps and masks both 8259 PICs, enables
 * the xAPIC, routes IOAPIC pin TESTDEV_GSI to vector IRQ_VECTOR and has the
 * test device raise it: first edge-triggered (a pulse), then level-triggered
 * (the handler lowers the line before its EOI; Remote IRR must be set in the
 * handler and clear after it, and the interrupt must not come back), then
 * with the pin masked (no interrupt). Any other vector fails the test. */
#include "guest.h"

GUEST_NAME ioapic_irq

#define IRQ_VECTOR 0x40
#define SPURIOUS_VECTOR 0xFF
#define PORT_IRQ (TESTDEV_PORT + TESTDEV_IRQ)
#define REDIR_LOW (0x10 + 2 * TESTDEV_GSI)
#define REDIR_HIGH (REDIR_LOW + 1)
#define REDIR_LEVEL (1 << 15)
#define REDIR_REMOTE_IRR (1 << 14)
#define REDIR_MASKED (1 << 16)
#define LAPIC_ISR_FOR_VECTOR (LAPIC_ISR0 + 0x10 * (IRQ_VECTOR / 32))
#define ISR_BIT_FOR_VECTOR (1 << (IRQ_VECTOR % 32))
#define WAIT_LOOPS 1000
#define QUIET_SPINS 200000

.code32
.text
.globl guest_main
guest_main:
  SAY "interrupt test start"
  call gdt32_load
  call idt32_init
  mov eax, IRQ_VECTOR
  mov edx, offset irq_handler
  call idt32_set_gate
  mov eax, SPURIOUS_VECTOR
  mov edx, offset spurious_handler
  call idt32_set_gate

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
  mov dword ptr [LAPIC_TPR], 0
  mov dword ptr [LAPIC_SVR], 0x100 | SPURIOUS_VECTOR
  mov eax, [LAPIC_SVR]
  and eax, 0x1FF
  CHECK_EQ eax, 0x100 | SPURIOUS_VECTOR, 1, "LAPIC SVR did not keep its value"
  mov eax, [LAPIC_ID]
  shr eax, 24
  mov [apic_id], eax

  /* The IOAPIC has a redirection entry for our pin. */
  mov dword ptr [IOAPIC_INDEX], 1
  mov eax, [IOAPIC_DATA]
  shr eax, 16
  and eax, 0xFF
  cmp eax, TESTDEV_GSI
  CHECK_CC ae, 2, "IOAPIC version register: too few redirection entries"

  /* Round 1: edge-triggered; the device pulses the line. */
  mov eax, IRQ_VECTOR
  call ioapic_route
  mov dword ptr [level_mode], 0
  call reset_records
  sti
  mov dx, PORT_IRQ
  mov eax, 1
  out dx, eax
  call wait_for_irq
  CHECK_EQ eax, 0, 3, "edge interrupt never arrived"
  call quiet_spin
  mov eax, [irq_count]
  CHECK_EQ eax, 1, 4, "edge interrupt count"
  mov eax, [isr_seen]
  CHECK_EQ eax, ISR_BIT_FOR_VECTOR, 5, "LAPIC ISR bit of the vector in the edge handler"
  mov eax, [LAPIC_ISR_FOR_VECTOR]
  and eax, ISR_BIT_FOR_VECTOR
  CHECK_EQ eax, 0, 6, "LAPIC ISR bit still set after EOI"
  SAY "edge-triggered interrupt delivered"

  /* Round 2: level-triggered; the device raises the line, the handler
   * lowers it before the EOI. */
  cli
  mov eax, IRQ_VECTOR | REDIR_LEVEL
  call ioapic_route
  mov dword ptr [level_mode], 1
  call reset_records
  sti
  mov dx, PORT_IRQ
  mov eax, 2
  out dx, eax
  call wait_for_irq
  CHECK_EQ eax, 0, 7, "level interrupt never arrived"
  call quiet_spin
  mov eax, [irq_count]
  CHECK_EQ eax, 1, 8, "level interrupt count (the interrupt came back)"
  mov eax, [isr_seen]
  CHECK_EQ eax, ISR_BIT_FOR_VECTOR, 9, "LAPIC ISR bit of the vector in the level handler"
  mov eax, [remote_irr_seen]
  CHECK_EQ eax, REDIR_REMOTE_IRR, 10, "IOAPIC Remote IRR in the level handler"
  cli
  mov dword ptr [IOAPIC_INDEX], REDIR_LOW
  mov eax, [IOAPIC_DATA]
  sti
  and eax, REDIR_REMOTE_IRR
  CHECK_EQ eax, 0, 11, "IOAPIC Remote IRR still set after EOI"
  SAY "level-triggered interrupt delivered"

  /* Round 3: masked pin; a pulse must not be delivered. */
  cli
  mov eax, IRQ_VECTOR | REDIR_MASKED
  call ioapic_route
  mov dword ptr [level_mode], 0
  call reset_records
  sti
  mov dx, PORT_IRQ
  mov eax, 1
  out dx, eax
  call quiet_spin
  mov eax, [irq_count]
  CHECK_EQ eax, 0, 12, "interrupt delivered from a masked IOAPIC pin"

  cli
  jmp guest_pass

/* Writes redirection entry TESTDEV_GSI: low word EAX (vector and mode bits),
 * destination our APIC id, physical mode, fixed delivery. Call with IF = 0. */
ioapic_route:
  push edx
  mov edx, [apic_id]
  shl edx, 24
  mov dword ptr [IOAPIC_INDEX], REDIR_HIGH
  mov [IOAPIC_DATA], edx
  mov dword ptr [IOAPIC_INDEX], REDIR_LOW
  mov [IOAPIC_DATA], eax
  pop edx
  ret

reset_records:
  mov dword ptr [irq_count], 0
  mov dword ptr [isr_seen], 0
  mov dword ptr [remote_irr_seen], 0
  ret

/* Halts until the handler has run; EAX = 0 when it did, 1 when WAIT_LOOPS
 * wake-ups passed without it. Returns with IF = 1. */
wait_for_irq:
  push ecx
  mov ecx, WAIT_LOOPS
1:
  cli
  cmp dword ptr [irq_count], 0
  jne 2f
  sti /* STI's interrupt shadow covers the HLT: no wake-up is lost */
  hlt
  loop 1b
  mov eax, 1
  pop ecx
  ret
2:
  sti
  xor eax, eax
  pop ecx
  ret

/* Spins a while with interrupts enabled, so that a wrongly repeated or
 * wrongly delivered interrupt gets its chance to arrive. */
quiet_spin:
  push ecx
  mov ecx, QUIET_SPINS
1:
  pause
  loop 1b
  pop ecx
  ret

irq_handler:
  push eax
  push edx
  inc dword ptr [irq_count]
  mov eax, [LAPIC_ISR_FOR_VECTOR]
  and eax, ISR_BIT_FOR_VECTOR
  mov [isr_seen], eax
  cmp dword ptr [level_mode], 0
  je 1f
  mov dword ptr [IOAPIC_INDEX], REDIR_LOW
  mov eax, [IOAPIC_DATA]
  and eax, REDIR_REMOTE_IRR
  mov [remote_irr_seen], eax
  mov dx, PORT_IRQ
  xor eax, eax
  out dx, eax /* lower the line before the EOI */
1:
  mov dword ptr [LAPIC_EOI], 0
  pop edx
  pop eax
  iret

/* A spurious interrupt gets no EOI. */
spurious_handler:
  iret

.bss
.balign 4
apic_id: .long 0
level_mode: .long 0
irq_count: .long 0
isr_seen: .long 0
remote_irr_seen: .long 0

/* timers: the platform's timers as interrupts in 64-bit mode, each waited
 * for in HLT (a vCPU that sleeps must be woken by the timer):
 *   1. the local APIC timer, periodic (LVT timer vector LAPIC_VECTOR):
 *      TIMER_TICKS interrupts, then masked: no more arrive;
 *   2. the TSC-deadline timer (when CPUID.1:ECX[24] says it exists): one
 *      interrupt for one deadline;
 *   3. the 8254 PIT channel 0 (rate generator, 1 ms) through IOAPIC pin 2
 *      (the MADT's interrupt source override for IRQ 0): PIT_TICKS interrupts;
 *   4. kvmclock (when CPUID 0x40000000 says "KVMKVMKVM" and 0x40000001 has
 *      CLOCKSOURCE2): the pvclock structure is filled in (even version,
 *      multiplier set) and the time it gives agrees with a 10 ms count of
 *      PIT counter 2 (polled through port 0x61).
 * Any other vector fails the test. */
#include "guest.h"

GUEST_NAME timers

#define LAPIC_VECTOR 0x41
#define DEADLINE_VECTOR 0x42
#define PIT_VECTOR 0x43
#define SPURIOUS_VECTOR 0xFF
#define TIMER_TICKS 5
#define PIT_TICKS 3
#define WAIT_LOOPS 100000
#define QUIET_SPINS 2000000

#define LVT_TIMER 0x320
#define TIMER_INITIAL 0x380
#define TIMER_DIVIDE 0x3E0
#define LVT_MASKED (1 << 16)
#define LVT_PERIODIC (1 << 17)
#define LVT_TSC_DEADLINE (2 << 17)
#define MSR_TSC_DEADLINE 0x6E0
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define PIT_REDIR_LOW (0x10 + 2 * 2)
#define PIT_REDIR_HIGH (PIT_REDIR_LOW + 1)

#define LAPIC r12
#define IOAPIC r13

.code32
.text
.globl guest_main
guest_main:
  SAY "timer test start"
  jmp enter_long_mode

.code64
.globl guest_main64
guest_main64:
  mov LAPIC, LAPIC_BASE
  mov IOAPIC, IOAPIC_BASE
  call idt64_init
  mov eax, LAPIC_VECTOR
  lea rdx, [rip + lapic_handler]
  call idt64_set_gate
  mov eax, DEADLINE_VECTOR
  lea rdx, [rip + deadline_handler]
  call idt64_set_gate
  mov eax, PIT_VECTOR
  lea rdx, [rip + pit_handler]
  call idt64_set_gate
  mov eax, SPURIOUS_VECTOR
  lea rdx, [rip + spurious_handler]
  call idt64_set_gate

  /* 8259 PICs at 0x20-0x2F, every line masked: the IOAPIC carries IRQs. */
  mov al, 0x11
  out PIC1_CMD, al
  out PIC2_CMD, al
  mov al, 0x20
  out PIC1_DATA, al
  mov al, 0x28
  out PIC2_DATA, al
  mov al, 0x04
  out PIC1_DATA, al
  mov al, 0x02
  out PIC2_DATA, al
  mov al, 0x01
  out PIC1_DATA, al
  out PIC2_DATA, al
  mov al, 0xFF
  out PIC1_DATA, al
  out PIC2_DATA, al

  mov dword ptr [LAPIC + LAPIC_TPR - LAPIC_BASE], 0
  mov dword ptr [LAPIC + LAPIC_SVR - LAPIC_BASE], 0x100 | SPURIOUS_VECTOR
  mov eax, [LAPIC + LAPIC_ID - LAPIC_BASE]
  shr eax, 24
  mov [rip + apic_id], eax

  /* 1. LAPIC timer, periodic, divide by 1, 1,000,000 bus ticks. */
  mov dword ptr [LAPIC + TIMER_DIVIDE], 0xB
  mov dword ptr [LAPIC + LVT_TIMER], LVT_PERIODIC | LAPIC_VECTOR
  mov dword ptr [LAPIC + TIMER_INITIAL], 1000000
  sti
  lea rbx, [rip + lapic_count]
  mov esi, TIMER_TICKS
  call wait_for_count
  CHECK_EQ64 rax, 0, 2, "LAPIC timer: too few periodic interrupts"
  cli
  mov dword ptr [LAPIC + LVT_TIMER], LVT_MASKED | LVT_PERIODIC | LAPIC_VECTOR
  mov dword ptr [LAPIC + TIMER_INITIAL], 0
  mov eax, [rip + lapic_count]
  mov [rip + saved_count], eax
  sti
  call quiet_spin
  mov eax, [rip + lapic_count]
  mov ecx, [rip + saved_count]
  CHECK_EQ64 rax, rcx, 3, "LAPIC timer interrupt after it was stopped"
  SAY64 "LAPIC timer: periodic interrupts, then none once masked"

  /* 2. TSC deadline, when the CPU has it. */
  mov eax, 1
  cpuid
  bt ecx, 24
  jnc 1f
  cli
  mov dword ptr [LAPIC + LVT_TIMER], LVT_TSC_DEADLINE | DEADLINE_VECTOR
  rdtsc
  shl rdx, 32
  or rax, rdx
  add rax, 2000000
  mov rdx, rax
  shr rdx, 32
  mov ecx, MSR_TSC_DEADLINE
  wrmsr
  sti
  lea rbx, [rip + deadline_count]
  mov esi, 1
  call wait_for_count
  CHECK_EQ64 rax, 0, 4, "TSC-deadline interrupt never arrived"
  call quiet_spin
  mov eax, [rip + deadline_count]
  CHECK_EQ64 rax, 1, 5, "TSC deadline: more than one interrupt for one deadline"
  SAY64 "TSC-deadline timer: one interrupt"
1:
  cli
  mov dword ptr [LAPIC + LVT_TIMER], LVT_MASKED

  /* 3. PIT channel 0, mode 2, 1193 (1 ms), through IOAPIC pin 2. */
  mov edx, [rip + apic_id]
  shl edx, 24
  mov dword ptr [IOAPIC], PIT_REDIR_HIGH
  mov [IOAPIC + 0x10], edx
  mov dword ptr [IOAPIC], PIT_REDIR_LOW
  mov dword ptr [IOAPIC + 0x10], PIT_VECTOR
  mov al, 0x34 /* channel 0, lobyte/hibyte, mode 2, binary */
  out 0x43, al
  mov ax, 1193
  out 0x40, al
  mov al, ah
  out 0x40, al
  sti
  lea rbx, [rip + pit_count]
  mov esi, PIT_TICKS
  call wait_for_count
  CHECK_EQ64 rax, 0, 6, "PIT: too few interrupts through IOAPIC pin 2"
  SAY64 "PIT: periodic interrupts through the IOAPIC"

  /* 4. kvmclock, when advertised. */
  mov eax, 0x40000000
  cpuid
  cmp ebx, 0x4b4d564b /* "KVMK" */
  jne 9f
  mov eax, 0x40000001
  cpuid
  bt eax, 3
  jnc 9f
  cli
  lea rax, [rip + pvclock]
  or rax, 1
  xor edx, edx
  mov ecx, MSR_KVM_SYSTEM_TIME_NEW
  wrmsr
  mov eax, [rip + pvclock]
  test eax, 1
  CHECK_CC z, 7, "kvmclock: odd version after the MSR write"
  test eax, eax
  CHECK_CC nz, 8, "kvmclock: the structure was not written"
  mov eax, [rip + pvclock + 24]
  test eax, eax
  CHECK_CC nz, 9, "kvmclock: tsc_to_system_mul is 0"
  /* PIT counter 2 in mode 0 counts 11932 ticks (10 ms) from the load of
   * its count (gate, port 0x61 bit 0, held high); OUT2 (port 0x61 bit 5)
   * then goes high. Polled, so no lost-tick reinjection can shorten it; the
   * clock is read before the load, so the interval is at least 10 ms. */
  in al, 0x61
  and al, 0xFC
  or al, 1 /* gate on, speaker off */
  out 0x61, al
  mov al, 0xB0 /* counter 2, lobyte/hibyte, mode 0, binary */
  out 0x43, al
  call kvmclock_read
  mov r14, rax
  mov ax, 11932
  out 0x42, al
  mov al, ah
  out 0x42, al
  mov ecx, 100000000
1:
  in al, 0x61
  test al, 0x20
  jnz 2f
  dec ecx
  jnz 1b
  FAIL64 10, "PIT counter 2 never finished its 10 ms count"
2:
  call kvmclock_read
  sub rax, r14
  mov rdx, rax
  cmp rax, 9000000
  jae 3f
  lea rsi, [rip + msg_kvmclock_short]
  mov eax, 11
  jmp guest_fail_got64
3:
  mov rcx, 10000000000
  cmp rax, rcx
  jb 4f
  lea rsi, [rip + msg_kvmclock_long]
  mov eax, 12
  jmp guest_fail_got64
4:
  SAY64 "kvmclock: the paravirtual clock agrees with the PIT"
9:
  cli
  jmp guest_pass64

/* RAX = kvmclock nanoseconds: system_time + ((tsc - tsc_timestamp) scaled by
 * tsc_shift and tsc_to_system_mul), retried while the version is odd or
 * changes. */
kvmclock_read:
  push rcx
  push rdx
  push rsi
  push rdi
1:
  mov esi, [rip + pvclock]
  test esi, 1
  jnz 1b
  rdtsc
  shl rdx, 32
  or rax, rdx
  sub rax, [rip + pvclock + 8]
  movsx ecx, byte ptr [rip + pvclock + 28]
  test ecx, ecx
  js 2f
  shl rax, cl
  jmp 3f
2:
  neg ecx
  shr rax, cl
3:
  mov edi, [rip + pvclock + 24]
  mul rdi
  shrd rax, rdx, 32
  add rax, [rip + pvclock + 16]
  cmp esi, [rip + pvclock]
  jne 1b
  pop rdi
  pop rsi
  pop rdx
  pop rcx
  ret

/* Halts until the 32-bit counter at [RBX] reaches ESI; RAX = 0 then, 1 when
 * WAIT_LOOPS wake-ups passed first. Returns with IF = 1. */
wait_for_count:
  push rcx
  mov ecx, WAIT_LOOPS
1:
  cli
  cmp [rbx], esi
  jae 2f
  sti /* the STI shadow covers the HLT: no wake-up is lost */
  hlt
  dec ecx
  jnz 1b
  sti
  mov eax, 1
  pop rcx
  ret
2:
  sti
  xor eax, eax
  pop rcx
  ret

quiet_spin:
  push rcx
  mov ecx, QUIET_SPINS
1:
  pause
  dec ecx
  jnz 1b
  pop rcx
  ret

lapic_handler:
  inc dword ptr [rip + lapic_count]
  mov dword ptr [LAPIC + LAPIC_EOI - LAPIC_BASE], 0
  iretq

deadline_handler:
  inc dword ptr [rip + deadline_count]
  mov dword ptr [LAPIC + LAPIC_EOI - LAPIC_BASE], 0
  iretq

pit_handler:
  inc dword ptr [rip + pit_count]
  mov dword ptr [LAPIC + LAPIC_EOI - LAPIC_BASE], 0
  iretq

spurious_handler:
  iretq

.section .rodata
msg_kvmclock_short: .asciz "kvmclock: less than 9 ms (ns shown) passed over a 10 ms PIT count"
msg_kvmclock_long: .asciz "kvmclock: more than 10 s (ns shown) passed over a 10 ms PIT count"

.bss
.balign 64
pvclock: .skip 32
apic_id: .long 0
saved_count: .long 0
lapic_count: .long 0
deadline_count: .long 0
pit_count: .long 0

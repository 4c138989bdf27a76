/* debugregs: hardware breakpoints through the debug registers in 32-bit
 * protected mode. An instruction breakpoint (DR0, R/W 00) faults before the
 * instruction: saved EIP = the instruction, DR6.B0; the handler sets RF in
 * the saved EFLAGS so the instruction runs after IRET, and a second pass
 * through it faults again (RF was cleared). A data write breakpoint (DR1,
 * 4 bytes) traps after a byte store inside its range (saved EIP = the next
 * instruction, DR6.B1) and ignores reads and stores next to it. A data
 * read/write breakpoint (DR2, 2 bytes) traps on a read. A breakpoint that
 * DR7 does not enable never triggers. (DR7.GD is covered by the unit tests:
 * QEMU's TCG does not implement general detect.) */
#include "guest.h"

GUEST_NAME debugregs

#define DR6_LOW4 0xF
#define EFLAGS_RF (1 << 16)

.code32
.text
.globl guest_main
guest_main:
  SAY "debugregs start"
  call gdt32_load
  call idt32_init
  mov eax, 1
  mov edx, offset db_handler
  call idt32_set_gate

  /* Instruction breakpoint on bp_insn, passed twice. */
  call reset_records
  mov eax, offset bp_insn
  mov dr0, eax
  mov eax, 0x401 /* L0, R/W0 = 00 (execute), LEN0 = 00 */
  mov dr7, eax
  xor ecx, ecx
1:
  nop
bp_insn:
  inc ecx
  cmp ecx, 2
  jb 1b
  xor eax, eax
  mov dr7, eax
  CHECK_EQ ecx, 2, 1, "the instruction under the breakpoint did not run twice"
  mov eax, [seen_count]
  CHECK_EQ eax, 2, 2, "instruction breakpoint count"
  mov eax, [seen_eip]
  mov ebx, offset bp_insn
  CHECK_EQ eax, ebx, 3, "saved EIP of the instruction breakpoint"
  mov eax, [seen_dr6]
  and eax, DR6_LOW4
  CHECK_EQ eax, 1, 4, "DR6 B0-B3 after the instruction breakpoint"
  mov eax, [seen_eflags]
  and eax, EFLAGS_RF
  CHECK_EQ eax, 0, 5, "RF pushed by the instruction breakpoint"

  /* Data write breakpoint on the 4 bytes at watched. */
  call reset_records
  mov eax, offset watched
  mov dr1, eax
  mov eax, 0xD00404 /* L1, R/W1 = 01 (write), LEN1 = 11 (4 bytes) */
  mov dr7, eax
  mov dword ptr [watched - 4], 1 /* next to it: no trap */
  mov dword ptr [watched + 4], 1 /* next to it: no trap */
  mov eax, [watched]             /* read: no trap */
  mov byte ptr [watched + 2], 7  /* inside: trap after it */
write_next:
  xor eax, eax
  mov dr7, eax
  mov eax, [seen_count]
  CHECK_EQ eax, 1, 6, "data write breakpoint count"
  mov eax, [seen_eip]
  mov ebx, offset write_next
  CHECK_EQ eax, ebx, 7, "saved EIP of the data write breakpoint"
  mov eax, [seen_dr6]
  and eax, DR6_LOW4
  CHECK_EQ eax, 2, 8, "DR6 B0-B3 after the data write breakpoint"
  mov eax, [watched]
  CHECK_EQ eax, 0x70000, 9, "the watched store"

  /* Data read/write breakpoint on the 2 bytes at watched + 2, hit by a read. */
  call reset_records
  mov eax, offset watched + 2
  mov dr2, eax
  mov eax, 0x7000420 /* G2, R/W2 = 11 (read/write), LEN2 = 01 (2 bytes) */
  mov dr7, eax
  mov eax, [watched - 4] /* outside: no trap */
  mov al, [watched + 2]  /* inside: trap */
read_next:
  xor edx, edx
  mov dr7, edx
  mov edx, [seen_count]
  CHECK_EQ edx, 1, 10, "data read breakpoint count"
  mov edx, [seen_eip]
  mov ebx, offset read_next
  CHECK_EQ edx, ebx, 11, "saved EIP of the data read breakpoint"
  mov edx, [seen_dr6]
  and edx, DR6_LOW4
  CHECK_EQ edx, 4, 12, "DR6 B0-B3 after the data read breakpoint"
  and eax, 0xFF
  CHECK_EQ eax, 7, 13, "the value read under the breakpoint"

  /* DR3 holds an address, but DR7 does not enable it. */
  call reset_records
  mov eax, offset watched
  mov dr3, eax
  mov eax, 0xF0000000 /* R/W3 = 11, LEN3 = 11; L3 = G3 = 0 */
  mov dr7, eax
  mov dword ptr [watched], 5
  xor eax, eax
  mov dr7, eax
  mov eax, [seen_count]
  CHECK_EQ eax, 0, 14, "a disabled breakpoint triggered"

  jmp guest_pass

reset_records:
  mov dword ptr [seen_count], 0
  mov dword ptr [seen_eip], 0
  mov dword ptr [seen_dr6], 0
  mov dword ptr [seen_eflags], 0
  xor eax, eax
  mov dr6, eax
  ret

/* #DB: records DR6 and the frame, clears DR6; for an instruction breakpoint
 * (B0) sets RF in the saved EFLAGS so that the instruction can run. */
db_handler:
  push eax
  inc dword ptr [seen_count]
  mov eax, dr6
  mov [seen_dr6], eax
  mov eax, [esp + 4]
  mov [seen_eip], eax
  mov eax, [esp + 12]
  mov [seen_eflags], eax
  mov eax, dr6
  test eax, 1
  jz 1f
  or dword ptr [esp + 12], EFLAGS_RF
1:
  xor eax, eax
  mov dr6, eax
  pop eax
  iret

.data
.balign 16
  .long 0
watched: .long 0
  .long 0

.bss
.balign 4
seen_count: .long 0
seen_eip: .long 0
seen_dr6: .long 0
seen_eflags: .long 0

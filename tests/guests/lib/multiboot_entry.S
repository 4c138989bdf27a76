/* Multiboot (v1) header and entry of the 32-bit guests. The header uses the
 * a.out kludge (flag bit 16): the guest file is a plain binary that a loader
 * places at 1 MiB (see multiboot.ld). The entry sets up a stack, keeps the
 * boot registers in mb_magic / mb_info and calls the guest's guest_main,
 * which must not return (it ends through guest_pass / guest_fail). */
#include "guest.h"

#define MB_FLAGS ((1 << 1) | (1 << 16)) /* want memory info; address fields valid */

.section .multiboot, "a"
.balign 4
multiboot_header:
  .long MULTIBOOT_HEADER_MAGIC
  .long MB_FLAGS
  .long -(MULTIBOOT_HEADER_MAGIC + MB_FLAGS)
  .long multiboot_header /* header_addr */
  .long _image_start     /* load_addr */
  .long _load_end        /* load_end_addr: end of the file's contents */
  .long _bss_end         /* bss_end_addr: the loader zeroes up to here */
  .long _start           /* entry_addr */

.code32
.text
.globl _start
_start:
  cli
  cld
  mov esp, offset stack_top
  mov [mb_magic], eax
  mov [mb_info], ebx
  call guest_main
  FAIL 127, "guest_main returned"

.data
.balign 4
.globl mb_magic
mb_magic: .long 0
.globl mb_info
mb_info: .long 0

.bss
.balign 16
stack_bottom:
  .skip 16384
.globl stack_top
stack_top:

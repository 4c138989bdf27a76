#!/bin/sh
# Runs one test guest under QEMU, as a check of the guest itself (under TCG)
# or of the host's KVM (under KVM), independent of vessel. Only for guests
# that do not need vessel's test device. Same pass rule as run-guest.sh:
# exit status 1 from QEMU's isa-debug-exit (the guest wrote 0) and a PASS
# line. The guest is a multiboot kernel (-kernel), or with --floppy a boot
# sector started by the firmware at 0x7C00.
#   run-guest-qemu.sh QEMU tcg|kvm GUEST.bin [--floppy] [qemu arguments...]
# Exit status: 0 pass; 77 skip (QEMU or the accelerator missing); 1 fail.
set -u

if [ $# -lt 3 ]; then
  echo "usage: $0 QEMU tcg|kvm GUEST.bin [--floppy] [qemu arguments...]" >&2
  exit 2
fi
qemu=$1
accel=$2
guest=$3
shift 3
if ! command -v "$qemu" >/dev/null 2>&1; then
  echo "SKIP: $qemu not found"
  exit 77
fi
if [ "$accel" = kvm ] && ! [ -r /dev/kvm ] && ! [ -w /dev/kvm ]; then
  echo "SKIP: /dev/kvm cannot be opened"
  exit 77
fi
load="-kernel $guest"
if [ "${1:-}" = --floppy ]; then
  load="-drive file=$guest,format=raw,if=floppy,readonly=on"
  shift
fi

# shellcheck disable=SC2086 # $load is two words on purpose
output=$(timeout 30 "$qemu" -accel "$accel" -nographic -no-reboot -display none \
  -monitor none -serial stdio -m 32M \
  -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
  $load "$@" </dev/null 2>&1)
status=$?
if [ $status -eq 1 ] && printf '%s\n' "$output" | grep -q '^guest [^ ]*: PASS$'; then
  printf '%s\n' "$output" | grep '^guest '
  exit 0
fi
echo "FAIL: guest $(basename "$guest") under QEMU ($accel): exit status $status; output:"
printf '%s\n' "$output" | tail -20
exit 1

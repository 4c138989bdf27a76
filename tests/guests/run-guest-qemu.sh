#!/bin/sh
# Runs one multiboot test guest under QEMU (TCG) as a check of the guest
# itself, independent of vessel. Only for guests that do not need vessel's
# test device. Same pass rule as run-guest.sh: exit status 1 from QEMU's
# isa-debug-exit (the guest wrote 0) and a PASS line.
#   run-guest-qemu.sh QEMU GUEST.bin
# Exit status: 0 pass; 77 skip (QEMU missing); 1 fail.
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 QEMU GUEST.bin" >&2
  exit 2
fi
qemu=$1
guest=$2
if ! command -v "$qemu" >/dev/null 2>&1; then
  echo "SKIP: $qemu not found"
  exit 77
fi

output=$(timeout 60 "$qemu" -accel tcg -nographic -no-reboot -display none \
  -monitor none -serial stdio -m 32M \
  -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
  -kernel "$guest" </dev/null 2>&1)
status=$?
if [ $status -eq 1 ] && printf '%s\n' "$output" | grep -q '^guest [^ ]*: PASS$'; then
  printf '%s\n' "$output" | grep '^guest '
  exit 0
fi
echo "FAIL: guest $(basename "$guest") under QEMU: exit status $status; output:"
printf '%s\n' "$output"
exit 1

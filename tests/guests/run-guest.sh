#!/bin/sh
# Runs one test guest under vessel on one accelerator (a ctest test).
#   run-guest.sh VESSEL ACCEL GUEST.bin [extra vessel arguments...]
# Exit status: 0 pass; 77 skip (the accelerator is unavailable, or the guest
# needs what the soft accelerator does not have yet: GUEST_SOFT_PENDING); 1 fail.
# A guest passes when vessel exits with status 1 (the guest wrote 0 to the
# debug-exit port) and the guest printed PASS.
#
# Some hosts have a /dev/kvm that gets parts of the architecture wrong (one
# nested KVM here never completes a real-mode INT n and cannot emulate a
# protected-mode IRET). When a guest fails on kvm and the environment names
# a twin (GUEST_QEMU, GUEST_KVM_TWIN, GUEST_KVM_TWIN_ARGS; set by CMake), the
# twin runs under QEMU: if it passes under QEMU's TCG but fails under QEMU's
# KVM, the fault is the host's and the test is skipped with that reason.
set -u

if [ $# -lt 3 ]; then
  echo "usage: $0 VESSEL ACCEL GUEST.bin [vessel arguments...]" >&2
  exit 2
fi
vessel=$1
accel=$2
guest=$3
shift 3

if [ ! -x "$vessel" ]; then
  echo "FAIL: vessel binary $vessel is missing or not executable"
  exit 1
fi
if [ ! -f "$guest" ]; then
  echo "FAIL: guest image $guest is missing"
  exit 1
fi

probe=$("$vessel" --probe-accel 2>&1)
probe_status=$?
if [ $probe_status -ne 0 ]; then
  echo "FAIL: $vessel --probe-accel exited with status $probe_status:"
  echo "$probe"
  exit 1
fi
line=$(printf '%s\n' "$probe" | grep "^$accel:")
if [ -z "$line" ]; then
  echo "FAIL: $vessel --probe-accel does not list accelerator '$accel':"
  echo "$probe"
  exit 1
fi
case $line in
  *unavailable*)
    echo "SKIP: $line"
    exit 77
    ;;
esac

if [ "$accel" = soft ] && [ -n "${GUEST_SOFT_PENDING:-}" ]; then
  echo "SKIP: $(basename "$guest") on soft: $GUEST_SOFT_PENDING"
  exit 77
fi

output=$(timeout 30 "$vessel" --accel "$accel" --debug-exit --memory 32M \
  --kernel "$guest" "$@" </dev/null 2>&1)
status=$?

if [ $status -eq 1 ] && printf '%s\n' "$output" | grep -q '^guest [^ ]*: PASS$'; then
  printf '%s\n' "$output"
  exit 0
fi

case $status in
  124) why="timed out after 30 s" ;;
  1) why="exit status 1 but no PASS in the output" ;;
  *)
    if [ $status -ge 3 ] && [ $((status % 2)) -eq 1 ] && [ $status -lt 256 ]; then
      why="exit status $status (guest failure code $(((status - 1) / 2)))"
    else
      why="exit status $status"
    fi
    ;;
esac
if [ "$accel" = kvm ] && [ -n "${GUEST_KVM_TWIN:-}" ]; then
  here=$(dirname "$0")
  # shellcheck disable=SC2086 # the twin's QEMU arguments are words
  if "$here/run-guest-qemu.sh" "$GUEST_QEMU" tcg "$GUEST_KVM_TWIN" ${GUEST_KVM_TWIN_ARGS:-} >/dev/null; then
    # shellcheck disable=SC2086
    twin_kvm=$("$here/run-guest-qemu.sh" "$GUEST_QEMU" kvm "$GUEST_KVM_TWIN" ${GUEST_KVM_TWIN_ARGS:-})
    if [ $? -eq 1 ]; then
      echo "SKIP: this host's KVM is defective: $(basename "$GUEST_KVM_TWIN") passes under" \
        "QEMU's TCG but fails under QEMU's KVM too, as $(basename "$guest") fails under vessel ($why)"
      echo "vessel's output:"
      printf '%s\n' "$output"
      echo "QEMU's KVM run of the twin:"
      printf '%s\n' "$twin_kvm"
      exit 77
    fi
  fi
fi
echo "FAIL: guest $(basename "$guest") on $accel: $why; output:"
printf '%s\n' "$output"
exit 1

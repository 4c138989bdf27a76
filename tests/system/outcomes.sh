#!/usr/bin/env bash
# System test: how vessel ends for each way a guest can end, on one
# accelerator. Tiny multiboot images made here (32-bit protected mode, code at
# file offset 32) power off through ACPI, reset through the i8042 and the CF9
# register, triple-fault, and write the debug-exit port; with --reboot a
# resetting guest starts again.
#
# Usage: outcomes.sh VESSEL kvm|soft
# Exit status: 0 pass, 1 fail, 77 skipped (the accelerator is unavailable).
set -uo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 VESSEL kvm|soft" >&2
  exit 2
fi
vessel=$1
accel=$2
limit=20

[ -x "$vessel" ] || {
  echo "FAIL: vessel binary $vessel not found"
  exit 1
}
line=$("$vessel" --probe-accel 2>&1 | grep "^$accel:")
case "$line" in
"") echo "FAIL: vessel --probe-accel printed no '$accel:' line" && exit 1 ;;
*unavailable*) echo "SKIP: $line" && exit 77 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/vessel-outcomes.XXXXXX")
trap 'rm -rf "$work"' EXIT

le32() {
  local v
  for v in "$@"; do
    v=$((v & 0xFFFFFFFF))
    printf '%b' "\\x$(printf %02x $((v & 255)))\\x$(printf %02x $(((v >> 8) & 255)))"
    printf '%b' "\\x$(printf %02x $(((v >> 16) & 255)))\\x$(printf %02x $(((v >> 24) & 255)))"
  done
}

# image NAME HEX-CODE: a multiboot v1 image loaded at 1 MiB, entered at
# offset 32, 128 bytes long (the code is zero-padded).
image() {
  local magic=0x1BADB002 flags=0x00010000 load=0x100000
  {
    le32 $magic $flags $((-(magic + flags))) $load $load 0 0 $((load + 32))
    printf '%b' "$(printf '%s' "$2" | sed 's/\([0-9a-f][0-9a-f]\) */\\x\1/g')"
    head -c 96 /dev/zero
  } | head -c 128 >"$work/$1.mb"
}
halt="fa f4 eb fd" # cli; hlt; jmp back to the hlt
image poweroff "66 ba 04 06 66 b8 00 34 66 ef $halt" # out 0x604, SLP_TYP 5 | SLP_EN
image i8042 "b0 fe e6 64 $halt"                      # out 0x64, 0xfe: pulse reset
image cf9 "66 ba f9 0c b0 06 ee $halt"               # out 0xcf9, SYS_RST | RST_CPU
image debugexit "b0 05 e6 f4 $halt"                  # out 0xf4, 5: status 11
# lidt [0x100040] (limit 0), then int3: #GP on the IDT, #DF, triple fault.
image triple "b8 40 00 10 00 0f 01 18 cc $halt"
# Print 'B' on COM1, then reset through the i8042.
image reboot "66 ba f8 03 b0 42 ee b0 fe e6 64 $halt"

passed=0
failed=0
# check NAME WANT_STATUS STDERR_PATTERN IMAGE [ARGS...]
check() {
  local name=$1 want=$2 pattern=$3 img=$4
  shift 4
  local status
  timeout "$limit" "$vessel" --accel "$accel" --memory 16M --kernel "$work/$img.mb" "$@" \
    </dev/null >"$work/out" 2>"$work/err"
  status=$?
  if [ "$status" -eq "$want" ] && { [ -z "$pattern" ] || grep -qiE "$pattern" "$work/err"; }; then
    echo "PASS: $name (status $status)"
    passed=$((passed + 1))
  else
    echo "FAIL: $name: status $status (want $want), stderr should match /$pattern/:"
    sed 's/^/  | /' "$work/err"
    failed=$((failed + 1))
  fi
}

check "ACPI S5 power-off exits 0" 0 "" poweroff
check "i8042 reset exits 2" 2 "reset" i8042
check "CF9 reset exits 2" 2 "reset" cf9
check "debug-exit 5 exits 11" 11 "debug-exit" debugexit --debug-exit -v
if [ "$accel" = soft ]; then
  # -v reports the translating tier when it is on; --jit overrides VESSEL_JIT.
  VESSEL_JIT=off check "--jit on overrides VESSEL_JIT=off" 0 "translating tier" poweroff --jit on -v
  VESSEL_JIT=always check "--jit off turns the tier off" 0 "" poweroff --jit off -v
  if grep -q "translating tier" "$work/err"; then
    echo "FAIL: --jit off: the translating tier still ran"
    failed=$((failed + 1))
  fi
fi
# Some nested KVMs cannot deliver the exception at all ("KVM internal error",
# emulation failure); when QEMU -accel kvm fails on the same image the same
# way, that is the host's defect and the case is skipped.
host_kvm_defect() {
  command -v qemu-system-x86_64 >/dev/null || return 1
  local out
  out=$(timeout 15 qemu-system-x86_64 -accel kvm -cpu qemu64 -nographic -no-reboot -m 32 \
    -kernel "$work/$1.mb" </dev/null 2>&1)
  grep -aq "KVM internal error" <<<"$out"
}
skipped=0
timeout "$limit" "$vessel" --accel "$accel" --memory 16M --kernel "$work/triple.mb" \
  </dev/null >/dev/null 2>"$work/err"
if [ "$accel" = kvm ] && grep -q "KVM internal error" "$work/err" && host_kvm_defect triple; then
  echo "SKIP: triple fault: this host's KVM cannot deliver the exceptions (QEMU -accel kvm"
  echo "      fails on the same image with 'KVM internal error' too):"
  sed 's/^/  | /' "$work/err"
  skipped=2
else
  check "triple fault exits 2 with registers" 2 "triple" triple
fi
if [ "$skipped" -gt 0 ]; then
  :
elif grep -q "rip=" "$work/err"; then
  echo "PASS: the triple-fault message has a register dump"
  passed=$((passed + 1))
else
  echo "FAIL: no register dump (rip=) after the triple fault"
  failed=$((failed + 1))
fi

# --reboot: the guest resets at once, so it boots again and again until the
# timeout stops vessel; its 'B' must have come out more than once.
timeout --preserve-status -s INT 5 "$vessel" --accel "$accel" --memory 16M --reboot --kernel "$work/reboot.mb" \
  </dev/null >"$work/out" 2>"$work/err"
status=$?
boots=$(tr -cd 'B' <"$work/out" | wc -c)
if [ "$status" -eq 130 ] && [ "$boots" -ge 2 ]; then
  echo "PASS: --reboot restarted the guest ($boots boots in 5 s, stopped by SIGINT: status 130)"
  passed=$((passed + 1))
else
  echo "FAIL: --reboot: status $status (want 130 from SIGINT), $boots boots (want >= 2)"
  sed 's/^/  | /' "$work/err" | tail -5
  failed=$((failed + 1))
fi

echo "outcomes ($accel): $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

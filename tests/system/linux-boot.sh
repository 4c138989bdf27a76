#!/usr/bin/env bash
# System test: boots the Debian guest (build/guest, from `make assets`) under
# vessel with the given accelerator, runs a command in it through
# vessel.cmd64= and checks what the guest prints and how vessel exits.
#
# Usage: linux-boot.sh VESSEL ASSET_DIR ACCEL(kvm|soft)
# Exit status: 0 pass, 1 fail, 77 skipped (accelerator not usable here).
# VESSEL_BOOT_TIMEOUT overrides the boot time limit in seconds.
set -uo pipefail

if [ "$#" -ne 3 ]; then
  echo "usage: $0 VESSEL ASSET_DIR kvm|soft" >&2
  exit 2
fi
vessel=$1
assets=$2
accel=$3

fail() {
  echo "FAIL: $*"
  exit 1
}

[ -x "$vessel" ] || fail "vessel binary $vessel not found"

probe=$("$vessel" --probe-accel 2>&1) || fail "vessel --probe-accel exited with status $?: $probe"
echo "$probe"
line=$(grep "^$accel:" <<<"$probe" | head -n 1)
[ -n "$line" ] || fail "vessel --probe-accel printed no '$accel:' line"
case "$accel" in
kvm)
  [[ "$line" == "kvm: fast"* ]] || {
    echo "SKIP: KVM is not fast here ($line)"
    exit 77
  }
  limit=${VESSEL_BOOT_TIMEOUT:-60}
  ;;
soft)
  [[ "$line" != "soft: unavailable"* ]] || {
    echo "SKIP: no software CPU ($line)"
    exit 77
  }
  if [ -n "${VESSEL_SOFT_PENDING:-}" ]; then
    echo "SKIP: soft: $VESSEL_SOFT_PENDING"
    exit 77
  fi
  limit=${VESSEL_BOOT_TIMEOUT:-600}
  ;;
*) fail "unknown accelerator '$accel' (kvm or soft)" ;;
esac

kernel=$assets/vmlinuz
initrd=$assets/initramfs.cpio.gz
for f in "$kernel" "$initrd"; do
  [ -f "$f" ] || fail "guest asset $f is missing: run 'make assets' (scripts/build-guest-assets.sh $assets)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/vessel-boot.XXXXXX")
trap 'rm -rf "$work"' EXIT

cmd64=$(printf '%s' 'echo hello-from-guest; cat /proc/cmdline' | base64 -w0)
cmdline="console=ttyS0 quiet panic=-1 vessel.cmd64=$cmd64"
echo "running: $vessel --accel $accel --kernel $kernel --initrd $initrd --memory 256M --cmdline '$cmdline'"
start=$(date +%s.%N)
timeout -k 5 "$limit" "$vessel" --accel "$accel" --kernel "$kernel" --initrd "$initrd" \
  --memory 256M --cmdline "$cmdline" </dev/null >"$work/serial.raw" 2>"$work/stderr"
status=$?
elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
tr -d '\r' <"$work/serial.raw" >"$work/serial"

show() {
  echo "--- guest serial output (last 40 lines)"
  tail -n 40 "$work/serial"
  echo "--- vessel stderr (last 20 lines)"
  tail -n 20 "$work/stderr"
}

problems=()
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  problems+=("vessel did not finish within $limit s")
elif [ "$status" -ne 0 ]; then
  problems+=("vessel exited with status $status (expected 0: guest power-off)")
fi
grep -qx 'VESSEL-GUEST-READY' "$work/serial" || problems+=("no VESSEL-GUEST-READY line")
grep -qx 'hello-from-guest' "$work/serial" || problems+=("no hello-from-guest line")
grep -q "^console=ttyS0 .*vessel.cmd64=$cmd64" "$work/serial" ||
  problems+=("the guest's /proc/cmdline does not show the command line given")
grep -qx 'VESSEL-CMD-EXIT 0' "$work/serial" || problems+=("no 'VESSEL-CMD-EXIT 0' line")

if [ "${#problems[@]}" -gt 0 ]; then
  show
  for p in "${problems[@]}"; do echo "FAIL: $p"; done
  exit 1
fi
echo "PASS: Linux booted under $accel, ran the command and powered off in $elapsed s"

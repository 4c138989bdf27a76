#!/usr/bin/env bash
# System test: boots the Debian guest with --console virtio --rng and
# console=hvc0 (console=ttyS0 as well, for the messages before the virtio
# modules load). vessel's stdin is a FIFO the test writes to. The guest
# checks that /sys/class/tty/hvc0 exists, writes a tagged line to /dev/hvc0,
# prints a ready line there, reads one line from /dev/hvc0 and writes it back
# tagged, then reads 64 bytes from /dev/hwrng. The test waits for the ready
# line on vessel's stdout, feeds a random token to vessel's stdin and requires:
# the hello line (written only to hvc0, so it can only have come through the
# virtio transmit queue), the token echoed back (it can only have reached the
# guest through the receive queue: with --console virtio the UART gets no
# input), 64 non-zero bytes from virtio-rng, the guest powered off cleanly and
# vessel logged no virtio error. One boot.
#
# Usage: virtio-console.sh VESSEL ASSET_DIR ACCEL(kvm|soft)
# Exit status: 0 pass, 1 fail, 77 skipped (accelerator not usable here).
# VESSEL_BOOT_TIMEOUT overrides the boot time limit in seconds.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/system/linux-guest-lib.sh
. "$here/linux-guest-lib.sh"
guest_test_args "$@"

work=$(mktemp -d "${TMPDIR:-/tmp}/vessel-console.XXXXXX")
vessel_pid=
cleanup() {
  [ -n "$vessel_pid" ] && kill "$vessel_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# Every line the test checks starts with a tag, so kernel messages cannot pass for it.
guest_cmd='echo "console-active: $(cat /sys/class/tty/console/active)"
if [ -e /sys/class/tty/hvc0 ]; then echo "console-hvc0: present"; else echo "console-hvc0: missing"; fi
sed -n "s/^/console-pci: /p" /proc/bus/pci/devices
exec 3<>/dev/hvc0 || { echo "console-open: failed"; exit 3; }
stty -echo <&3 2>/dev/null
echo "console-hello: written to hvc0" >&3
echo "console-ready" >&3
read -r line <&3; echo "console-read-exit: $?"
echo "console-echo: $line" >&3
head -c 64 /dev/hwrng >/tmp/rng; echo "rng-read-exit: $?"
echo "rng-bytes: $(wc -c </tmp/rng)"
echo "rng-hex: $(od -An -tx1 -v /tmp/rng | tr -d " \n")"
grep virtio /proc/interrupts | sed "s/^ */console-irq: /"'
cmd64=$(printf '%s' "$guest_cmd" | base64 -w0)
cmdline="console=ttyS0 console=hvc0 quiet panic=-1 vessel.cmd64=$cmd64"
token="ping-$RANDOM$RANDOM-from-host"

mkfifo "$work/in" || fail "mkfifo failed"
# Held open read-write here, so vessel's stdin neither blocks on open nor sees
# end-of-file before the test is done with it.
exec 3<>"$work/in"
echo "running: $vessel --accel $accel --console virtio --rng --kernel $assets/vmlinuz --initrd $assets/initramfs.cpio.gz --memory 256M --cmdline '$cmdline' <FIFO"
start=$(date +%s.%N)
timeout -k 5 "$limit" "$vessel" --accel "$accel" --console virtio --rng \
  --kernel "$assets/vmlinuz" --initrd "$assets/initramfs.cpio.gz" --memory 256M \
  --cmdline "$cmdline" <"$work/in" >"$work/out.raw" 2>"$work/stderr" &
vessel_pid=$!

# Feed the token once the guest is reading.
fed=0
while kill -0 "$vessel_pid" 2>/dev/null; do
  if tr -d '\r' <"$work/out.raw" | grep -qx 'console-ready'; then
    printf '%s\n' "$token" >&3
    fed=1
    break
  fi
  sleep 0.2
done
wait "$vessel_pid"
status=$?
vessel_pid=
exec 3>&-
elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
tr -d '\r' <"$work/out.raw" >"$work/out"

problems=()
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  problems+=("vessel did not finish within $limit s")
elif [ "$status" -ne 0 ]; then
  problems+=("vessel exited with status $status (expected 0: guest power-off)")
fi
[ "$fed" -eq 1 ] || problems+=("the guest never printed 'console-ready' on hvc0")
grep -qx 'VESSEL-CMD-EXIT 0' "$work/out" || problems+=("no 'VESSEL-CMD-EXIT 0' line")
grep -qE '^console-pci: [0-9a-f]{4}[[:space:]]+1af41043' "$work/out" ||
  problems+=("/proc/bus/pci/devices shows no virtio console (1af4:1043)")
grep -qx 'console-hvc0: present' "$work/out" || problems+=("/sys/class/tty/hvc0 does not exist")
grep -qx 'console-hello: written to hvc0' "$work/out" ||
  problems+=("the line written to /dev/hvc0 did not reach stdout")
grep -qx 'console-read-exit: 0' "$work/out" || problems+=("reading a line from /dev/hvc0 failed")
grep -qx "console-echo: $token" "$work/out" ||
  problems+=("the guest did not echo the token fed to stdin ($(grep -m1 '^console-echo:' "$work/out" || echo 'no console-echo line'))")
grep -qx 'rng-read-exit: 0' "$work/out" || problems+=("reading /dev/hwrng failed")
grep -qx 'rng-bytes: 64' "$work/out" ||
  problems+=("expected 64 bytes from /dev/hwrng ($(grep -m1 '^rng-bytes:' "$work/out" || echo 'no such line'))")
hex=$(sed -n 's/^rng-hex: //p' "$work/out" | head -n 1)
[[ "$hex" =~ ^[0-9a-f]{128}$ ]] || problems+=("the bytes read are not 64 hex pairs: '$hex'")
[[ "$hex" =~ ^0+$ ]] && problems+=("the 64 bytes from /dev/hwrng are all zero")
grep -q 'needs a reset' "$work/stderr" &&
  problems+=("vessel logged a virtio error: $(grep -m1 'needs a reset' "$work/stderr")")

if [ "${#problems[@]}" -gt 0 ]; then
  echo "--- vessel stdout (last 60 lines)"
  tail -n 60 "$work/out"
  echo "--- vessel stderr (last 20 lines)"
  tail -n 20 "$work/stderr"
  for p in "${problems[@]}"; do echo "FAIL: $p"; done
  exit 1
fi
grep -E '^(console-(active|hvc0|hello|echo|irq)|rng-bytes)' "$work/out"
echo "PASS: hvc0 output and input through virtio-console and 64 bytes from virtio-rng under" \
  "$accel, powered off in $elapsed s"

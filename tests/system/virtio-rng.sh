#!/usr/bin/env bash
# System test: boots the Debian guest with --rng (a virtio-rng device on PCI)
# and has it read 64 bytes from /dev/hwrng. The test requires: the guest sees
# the virtio device (1af4:1044) on PCI, the hw_random core picked
# virtio_rng.0, 64 bytes came back and they are not all zero, the device's
# queue interrupts arrived, vessel logged no virtio error, and the guest
# powered off cleanly. Two boots: one with MSI-X (Linux's default), one with
# pci=nomsi, where the device falls back to INTx and the ISR.
#
# Usage: virtio-rng.sh VESSEL ASSET_DIR ACCEL(kvm|soft)
# Exit status: 0 pass, 1 fail, 77 skipped (accelerator not usable here).
# VESSEL_BOOT_TIMEOUT overrides the boot time limit in seconds.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/system/linux-guest-lib.sh
. "$here/linux-guest-lib.sh"
guest_test_args "$@"

work=$(mktemp -d "${TMPDIR:-/tmp}/vessel-rng.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Each line the test checks starts with a tag, so kernel messages cannot pass for it.
guest_cmd='sed "s/^/rng-pci: /" /proc/bus/pci/devices
echo "rng-current: $(cat /sys/class/misc/hw_random/rng_current)"
echo "rng-available: $(cat /sys/class/misc/hw_random/rng_available)"
head -c 64 /dev/hwrng >/tmp/rng; echo "rng-read-exit: $?"
echo "rng-bytes: $(wc -c </tmp/rng)"
echo "rng-hex: $(od -An -tx1 -v /tmp/rng | tr -d " \n")"
grep virtio /proc/interrupts | sed "s/^ */rng-irq: /"
dmesg | grep -iE "virtio|hwrng|hw_random" | sed "s/^/rng-dmesg: /"'
# boot MODE(msix|intx): boots once, checks, appends to `problems`.
boot() {
  local mode=$1 extra="" irq_re
  case "$mode" in
  msix) irq_re='PCI-MSI.*virtio0-input' ;;
  intx)
    extra=" pci=nomsi"
    irq_re='IO-APIC.*virtio0'
    ;;
  esac
  cmd64=$(printf '%s' "$guest_cmd" | base64 -w0)
  cmdline="console=ttyS0 quiet panic=-1$extra vessel.cmd64=$cmd64"
  echo "running: $vessel --accel $accel --rng --kernel $assets/vmlinuz --initrd $assets/initramfs.cpio.gz --memory 256M --cmdline '$cmdline'"
  start=$(date +%s.%N)
  timeout -k 5 "$limit" "$vessel" --accel "$accel" --rng --kernel "$assets/vmlinuz" \
    --initrd "$assets/initramfs.cpio.gz" --memory 256M --cmdline "$cmdline" \
    </dev/null >"$work/serial.raw" 2>"$work/stderr"
  status=$?
  elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  tr -d '\r' <"$work/serial.raw" >"$work/serial"

  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    problems+=("vessel did not finish within $limit s")
  elif [ "$status" -ne 0 ]; then
    problems+=("vessel exited with status $status (expected 0: guest power-off)")
  fi
  grep -qx 'VESSEL-CMD-EXIT 0' "$work/serial" || problems+=("no 'VESSEL-CMD-EXIT 0' line")
  grep -qE '^rng-pci: [0-9a-f]{4}[[:space:]]+1af41044' "$work/serial" ||
    problems+=("/proc/bus/pci/devices shows no virtio-rng device (1af4:1044)")
  grep -qx 'rng-current: virtio_rng.0' "$work/serial" ||
    problems+=("rng_current is not virtio_rng.0 ($(grep -m1 '^rng-current:' "$work/serial" || echo 'no such line'))")
  grep -qx 'rng-read-exit: 0' "$work/serial" || problems+=("reading /dev/hwrng failed")
  grep -qx 'rng-bytes: 64' "$work/serial" ||
    problems+=("expected 64 bytes from /dev/hwrng ($(grep -m1 '^rng-bytes:' "$work/serial" || echo 'no such line'))")
  hex=$(sed -n 's/^rng-hex: //p' "$work/serial" | head -n 1)
  [[ "$hex" =~ ^[0-9a-f]{128}$ ]] || problems+=("the bytes read are not 64 hex pairs: '$hex'")
  [[ "$hex" =~ ^0+$ ]] && problems+=("the 64 bytes from /dev/hwrng are all zero")
  # /proc/interrupts: "rng-irq: 25: COUNT PCI-MSI ... virtio0-input" (one vCPU).
  n=$(grep -E "^rng-irq: .*$irq_re" "$work/serial" | awk '{ print $3 }' | head -n 1)
  [ -n "$n" ] && [ "$n" -gt 0 ] ||
    problems+=("no queue interrupts counted in /proc/interrupts (want /$irq_re/, got ${n:-no line})")
  grep -q 'needs a reset' "$work/stderr" && problems+=("vessel logged a virtio error: $(grep -m1 'needs a reset' "$work/stderr")")

  if [ "${#problems[@]}" -gt 0 ]; then
    echo "--- guest serial output (last 60 lines)"
    tail -n 60 "$work/serial"
    echo "--- vessel stderr (last 20 lines)"
    tail -n 20 "$work/stderr"
    for p in "${problems[@]}"; do echo "FAIL ($mode): $p"; done
    exit 1
  fi
  grep -E '^rng-(current|bytes|hex|irq|pci: .*1af4)' "$work/serial"
  echo "$mode: passed, powered off in $elapsed s"
}

problems=()
for mode in msix intx; do
  boot "$mode"
done
echo "PASS: the guest read 64 bytes from virtio-rng under $accel (rng_current virtio_rng.0)," \
  "with MSI-X and with INTx (pci=nomsi)"

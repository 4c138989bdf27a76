#!/usr/bin/env bash
# System test: boots the Debian guest (build/guest, from `make assets`) under
# vessel with the given accelerator, runs a command in it through
# vessel.cmd64= and checks what the guest prints and how vessel exits. The
# command also reports the platform as Linux sees it, and the test requires:
# dmesg shows the switch to the kvm-clock clocksource and no timer, APIC or
# interrupt errors (nor a kernel BUG/WARNING/Oops), /proc/cpuinfo has the
# hypervisor flag, util-linux's lscpu says "Hypervisor vendor: KVM", and PCI
# bus 0 with the host bridge is enumerated with ECAM from the MCFG table.
# The checks are in linux-guest-lib.sh.
#
# Usage: linux-boot.sh VESSEL ASSET_DIR ACCEL(kvm|soft)
# Exit status: 0 pass, 1 fail, 77 skipped (accelerator not usable here).
# VESSEL_BOOT_TIMEOUT overrides the boot time limit in seconds.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/system/linux-guest-lib.sh
. "$here/linux-guest-lib.sh"
guest_test_args "$@"
kernel=$assets/vmlinuz
initrd=$assets/initramfs.cpio.gz

work=$(mktemp -d "${TMPDIR:-/tmp}/vessel-boot.XXXXXX")
trap 'rm -rf "$work"' EXIT

guest_cmd="echo hello-from-guest; cat /proc/cmdline
$(platform_check_command)"
cmd64=$(printf '%s' "$guest_cmd" | base64 -w0)
cmdline="console=ttyS0 quiet panic=-1 vessel.cmd64=$cmd64"
echo "running: $vessel --accel $accel --kernel $kernel --initrd $initrd --memory 256M --cmdline '$cmdline'"
start=$(date +%s.%N)
timeout -k 5 "$limit" "$vessel" --accel "$accel" --kernel "$kernel" --initrd "$initrd" \
  --memory 256M --cmdline "$cmdline" </dev/null >"$work/serial.raw" 2>"$work/stderr"
status=$?
elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
tr -d '\r' <"$work/serial.raw" >"$work/serial"

# The lines the guest printed for the platform checks (lscpu's in full only on failure).
checked_lines() {
  grep -E '^(dmesg|current-clocksource|timer-error|kernel-error|interrupts|cpuinfo|lscpu-exit|lscpu: Hypervisor|pci-)' "$work/serial"
}
show() {
  echo "--- guest serial output (last 60 lines)"
  tail -n 60 "$work/serial"
  echo "--- what the guest printed for the platform checks"
  checked_lines
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
check_platform_output "$work/serial"

if [ "${#problems[@]}" -gt 0 ]; then
  show
  for p in "${problems[@]}"; do echo "FAIL: $p"; done
  exit 1
fi
checked_lines
echo "PASS: Linux booted under $accel, ran the command, passed the platform checks" \
  "(kvm-clock, no timer/APIC errors, hypervisor flag, lscpu: KVM, PCI host bridge via ECAM)" \
  "and powered off in $elapsed s"

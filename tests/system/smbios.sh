#!/usr/bin/env bash
# System test: boots the Debian guest with --uuid and checks that the guest
# identifies the hypervisor from Vessel's SMBIOS tables and CPUID: virt-what
# prints kvm (and nothing else), dmidecode shows Vessel's system manufacturer,
# product name and the UUID given, /sys/class/dmi/id agrees, and the kernel
# found the SMBIOS 3.0 entry point. One boot.
#
# Usage: smbios.sh VESSEL ASSET_DIR ACCEL(kvm|soft)
# Exit status: 0 pass, 1 fail, 77 skipped (accelerator not usable here).
# VESSEL_BOOT_TIMEOUT overrides the boot time limit in seconds.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/system/linux-guest-lib.sh
. "$here/linux-guest-lib.sh"
guest_test_args "$@"

work=$(mktemp -d "${TMPDIR:-/tmp}/vessel-smbios.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Given in mixed case: the guest must print it in lower case, byte order intact.
uuid_arg=12345678-9ABC-def0-1122-334455667788
uuid=12345678-9abc-def0-1122-334455667788

# Each line the test checks starts with a tag, so kernel messages cannot pass for it.
guest_cmd='command -v dmidecode >/dev/null || echo "smb-missing: dmidecode"
command -v virt-what >/dev/null || echo "smb-missing: virt-what"
virt-what >/tmp/vw 2>&1; echo "smb-virt-what-exit: $?"; sed "s/^/smb-virt-what: /" /tmp/vw
echo "smb-manufacturer: $(dmidecode -s system-manufacturer)"
echo "smb-product: $(dmidecode -s system-product-name)"
echo "smb-uuid: $(dmidecode -s system-uuid)"
echo "smb-bios-vendor: $(dmidecode -s bios-vendor)"
echo "smb-sys-vendor: $(cat /sys/class/dmi/id/sys_vendor)"
echo "smb-product-uuid: $(cat /sys/class/dmi/id/product_uuid)"
echo "smb-chassis-type: $(cat /sys/class/dmi/id/chassis_type)"
echo "smb-cpus: $(dmidecode -t 4 | grep -c "^Processor Information")"
dmidecode -t 17 | grep "^	Size:" | sed "s/^	*/smb-mem-/"
dmesg | grep -E "SMBIOS|DMI:" | sed "s/^/smb-dmesg: /"'
cmd64=$(printf '%s' "$guest_cmd" | base64 -w0)
cmdline="console=ttyS0 quiet panic=-1 vessel.cmd64=$cmd64"
echo "running: $vessel --accel $accel --cpus 2 --uuid $uuid_arg --kernel $assets/vmlinuz --initrd $assets/initramfs.cpio.gz --memory 256M --cmdline '$cmdline'"
start=$(date +%s.%N)
timeout -k 5 "$limit" "$vessel" --accel "$accel" --cpus 2 --uuid "$uuid_arg" \
  --kernel "$assets/vmlinuz" --initrd "$assets/initramfs.cpio.gz" --memory 256M \
  --cmdline "$cmdline" </dev/null >"$work/serial.raw" 2>"$work/stderr"
status=$?
elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
tr -d '\r' <"$work/serial.raw" >"$work/serial"

problems=()
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  problems+=("vessel did not finish within $limit s")
elif [ "$status" -ne 0 ]; then
  problems+=("vessel exited with status $status (expected 0: guest power-off)")
fi
grep -qx 'VESSEL-CMD-EXIT 0' "$work/serial" || problems+=("no 'VESSEL-CMD-EXIT 0' line")
if grep -q '^smb-missing:' "$work/serial"; then
  problems+=("the initramfs lacks $(sed -n 's/^smb-missing: //p' "$work/serial" | tr '\n' ' ')(rebuild the guest assets)")
fi
# expect LINE: the serial output has exactly this line.
expect() {
  grep -qxF "$1" "$work/serial" ||
    problems+=("expected '$1', got '$(grep -m1 "^${1%%: *}:" "$work/serial" || echo 'no such line')'")
}
expect "smb-virt-what-exit: 0"
expect "smb-virt-what: kvm"
n=$(grep -c '^smb-virt-what:' "$work/serial")
[ "$n" -eq 1 ] || problems+=("virt-what printed $n lines, expected only 'kvm'")
expect "smb-manufacturer: Vessel"
expect "smb-product: Vessel Virtual Machine"
expect "smb-uuid: $uuid"
expect "smb-bios-vendor: Vessel"
expect "smb-sys-vendor: Vessel"
expect "smb-product-uuid: $uuid"
expect "smb-chassis-type: 1"
expect "smb-cpus: 2"
expect "smb-mem-Size: 256 MB"
grep -qE '^smb-dmesg: .*SMBIOS 3\.0\.0 present' "$work/serial" ||
  problems+=("the kernel did not log 'SMBIOS 3.0.0 present'")
grep -qE '^smb-dmesg: .*DMI: Vessel Vessel Virtual Machine, BIOS ' "$work/serial" ||
  problems+=("the kernel's 'DMI:' line does not name Vessel Vessel Virtual Machine")

if [ "${#problems[@]}" -gt 0 ]; then
  echo "--- guest serial output (last 60 lines)"
  tail -n 60 "$work/serial"
  echo "--- vessel stderr (last 20 lines)"
  tail -n 20 "$work/stderr"
  for p in "${problems[@]}"; do echo "FAIL: $p"; done
  exit 1
fi
grep '^smb-' "$work/serial"
echo "PASS: the guest identifies Vessel from SMBIOS under $accel (virt-what: kvm, UUID $uuid)," \
  "powered off in $elapsed s"

#!/usr/bin/env bash
# System test: virtio-balloon. Two boots of the Debian guest with 512 MiB:
#   baseline: no balloon. The guest fills 120 MiB of tmpfs, deletes it and
#             waits; the host samples vessel's VmRSS meanwhile.
#   balloon:  --balloon size=256M,stats_period=1 (free page reporting on).
#             The guest waits until its MemTotal fell by the balloon (below
#             230000 kB, from ~481000 without one: the driver inflates in
#             steps, and waiting for less once let the check below see a
#             balloon still filling), then does the same.
# The test requires: the guest sees the balloon (1af4:1045) and its
# MemTotal fell by at least 200 MiB; vessel's -v log says the driver wrote
# actual = the target (65536 pages) and that 65536 pages were inflated; the guest sent memory
# statistics; vessel's RSS in the balloon run is at least 48 MiB below the
# baseline's (inflated pages and the freed, reported tmpfs pages go back to
# the host); no virtio error; clean power-offs. The numbers are printed.
#
# Usage: virtio-balloon.sh VESSEL ASSET_DIR ACCEL(kvm|soft)
# Exit status: 0 pass, 1 fail, 77 skipped (accelerator not usable here).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/system/linux-guest-lib.sh
. "$here/linux-guest-lib.sh"
guest_test_args "$@"

work=$(mktemp -d "${TMPDIR:-/tmp}/vessel-balloon.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Each line the test checks starts with a tag, so kernel messages cannot pass for it.
touch_cmd='echo "bal-memtotal: $(awk "/^MemTotal:/ { print \$2 }" /proc/meminfo)"
mkdir -p /mnt/t && mount -t tmpfs -o size=300M tmpfs /mnt/t
dd if=/dev/zero of=/mnt/t/fill bs=1M count=120 2>/dev/null; echo "bal-dd-exit: $?"
rm -f /mnt/t/fill; sync; sleep 6
echo "bal-free: $(awk "/^MemFree:/ { print \$2 }" /proc/meminfo)"
echo bal-touched; sleep 4'
wait_cmd='sed "s/^/bal-pci: /" /proc/bus/pci/devices
i=0; while [ $i -lt 120 ]; do
  t=$(awk "/^MemTotal:/ { print \$2 }" /proc/meminfo); [ "$t" -lt 230000 ] && break
  sleep 0.5; i=$((i + 1)); done
echo "bal-waited: $i"'

problems=()
rss_of() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# boot NAME GUEST_CMD VESSEL_ARGS...: boots once; sets `rss` (kB, sampled at
# the guest's bal-touched line); appends to `problems`.
boot() {
  local name=$1 cmd=$2 tpid vpid status deadline
  shift 2
  cmd64=$(printf '%s' "$cmd" | base64 -w0)
  cmdline="console=ttyS0 quiet panic=-1 vessel.cmd64=$cmd64"
  echo "running: $vessel --accel $accel -v $* --kernel $assets/vmlinuz --initrd $assets/initramfs.cpio.gz --memory 512M --cmdline '$cmdline'"
  timeout -k 5 "$limit" "$vessel" --accel "$accel" -v "$@" --kernel "$assets/vmlinuz" \
    --initrd "$assets/initramfs.cpio.gz" --memory 512M --cmdline "$cmdline" \
    </dev/null >"$work/$name.raw" 2>"$work/$name.err" &
  tpid=$!
  vpid=""
  rss=""
  deadline=$((SECONDS + limit))
  while [ $SECONDS -lt $deadline ] && kill -0 "$tpid" 2>/dev/null; do
    # vessel is timeout's child.
    [ -n "$vpid" ] || vpid=$(pgrep -P "$tpid" | head -n 1)
    if grep -q '^bal-touched' "$work/$name.raw"; then
      rss=$(rss_of "$vpid")
      break
    fi
    sleep 0.2
  done
  wait "$tpid"
  status=$?
  tr -d '\r' <"$work/$name.raw" >"$work/$name.serial"
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    problems+=("$name: vessel did not finish within $limit s")
  elif [ "$status" -ne 0 ]; then
    problems+=("$name: vessel exited with status $status (expected 0: guest power-off)")
  fi
  grep -qx 'VESSEL-CMD-EXIT 0' "$work/$name.serial" || problems+=("$name: no 'VESSEL-CMD-EXIT 0' line")
  grep -qx 'bal-dd-exit: 0' "$work/$name.serial" || problems+=("$name: filling tmpfs failed")
  [ -n "$rss" ] || problems+=("$name: could not sample vessel's VmRSS at the bal-touched line")
  grep -q 'needs a reset' "$work/$name.err" && problems+=("$name: vessel logged a virtio error: $(grep -m1 'needs a reset' "$work/$name.err")")
  memtotal=$(sed -n 's/^bal-memtotal: //p' "$work/$name.serial" | head -n 1)
  echo "$name: guest MemTotal ${memtotal:-?} kB, MemFree after the fill $(sed -n 's/^bal-free: //p' "$work/$name.serial" | head -n 1) kB, vessel VmRSS ${rss:-?} kB"
}

boot baseline "$touch_cmd"
base_rss=$rss base_total=$memtotal
boot balloon "$wait_cmd
$touch_cmd" --balloon size=256M,stats_period=1
bal_rss=$rss bal_total=$memtotal

grep -qE '^bal-pci: [0-9a-f]{4}[[:space:]]+1af41045' "$work/balloon.serial" ||
  problems+=("/proc/bus/pci/devices shows no virtio-balloon device (1af4:1045)")
if [ -n "$base_total" ] && [ -n "$bal_total" ]; then
  [ $((base_total - bal_total)) -ge $((200 * 1024)) ] ||
    problems+=("guest MemTotal fell by $((base_total - bal_total)) kB only (want >= 200 MiB)")
else
  problems+=("no MemTotal line in one of the boots")
fi
summary=$(grep -m1 'virtio-balloon: target' "$work/balloon.err")
echo "device: ${summary:-no summary}"
grep -m1 'virtio-balloon: guest statistics' "$work/balloon.err"
# actual as the driver wrote it (the device logs when it meets the target;
# the reset at power-off sets it back to 0).
grep -q 'virtio-balloon: the balloon reached its target of 65536 pages' "$work/balloon.err" ||
  problems+=("the driver never wrote actual = the 65536-page target")
[[ "$summary" =~ inflated\ ([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 65536 ] ||
  problems+=("fewer than 65536 pages inflated: '$summary'")
grep -q 'virtio-balloon: guest statistics.*total-memory=' "$work/balloon.err" ||
  problems+=("the guest sent no memory statistics")
if [ -n "$base_rss" ] && [ -n "$bal_rss" ]; then
  echo "VmRSS: baseline $base_rss kB, with the balloon $bal_rss kB (difference $((base_rss - bal_rss)) kB)"
  [ $((base_rss - bal_rss)) -ge $((48 * 1024)) ] ||
    problems+=("vessel's RSS with the balloon ($bal_rss kB) is not 48 MiB below the baseline ($base_rss kB)")
fi

if [ "${#problems[@]}" -gt 0 ]; then
  for n in baseline balloon; do
    echo "--- $n: guest serial output (last 30 lines)"
    tail -n 30 "$work/$n.serial"
    echo "--- $n: vessel stderr (last 10 lines)"
    tail -n 10 "$work/$n.err"
  done
  for p in "${problems[@]}"; do echo "FAIL: $p"; done
  exit 1
fi
echo "PASS: the balloon inflated to 256 MiB under $accel and vessel's RSS fell by" \
  "$((base_rss - bal_rss)) kB"

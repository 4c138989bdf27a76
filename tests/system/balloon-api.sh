#!/usr/bin/env bash
# System test: ballooning through the management API. One boot of the Debian
# guest with 512 MiB, --balloon free_page_reporting=off (so only the balloon
# gives memory back) and --api-socket:
#   1. the guest fills 300 MiB of tmpfs and deletes it: that memory is now
#      resident in vessel but free in the guest; it prints bal-touched;
#   2. the host samples vessel's VmRSS, sets the balloon to 256 MiB with
#      `vesselctl balloon 256M`, waits until the driver reports it inflated
#      (vm.balloon actual_bytes), and samples VmRSS again: it must have fallen
#      by at least 80% of 256 MiB. Both numbers are printed;
#   3. the guest, which waits for its MemTotal to fall by the balloon, then
#      waits for it to come back; the host deflates (`vesselctl balloon 0`);
#      the guest then fills 400 MiB of tmpfs, which needs the deflated
#      memory; then `vesselctl stop` must end vessel at once with status 0.
#
# Usage: balloon-api.sh VESSEL ASSET_DIR ACCEL(kvm|soft)   (vesselctl beside vessel)
# Exit status: 0 pass, 1 fail, 77 skipped (accelerator not usable here).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/system/linux-guest-lib.sh
. "$here/linux-guest-lib.sh"
guest_test_args "$@"
find_vesselctl

work=$(mktemp -d "${TMPDIR:-/tmp}/vessel-balloon-api.XXXXXX")
sock=$work/api.sock
tpid=
trap '[ -n "$tpid" ] && kill "$tpid" 2>/dev/null; rm -rf "$work"' EXIT
problems=()

# Each line the test checks starts with a tag, so kernel messages cannot pass for it.
# shellcheck disable=SC2016 # expanded by the guest's shell
guest_cmd='memtotal() { awk "/^MemTotal:/ { print \$2 }" /proc/meminfo; }
full=$(memtotal); echo "bal-memtotal: $full"
mkdir -p /mnt/t && mount -t tmpfs -o size=480M tmpfs /mnt/t
dd if=/dev/zero of=/mnt/t/fill bs=1M count=300 2>/dev/null; echo "bal-fill1-exit: $?"
rm -f /mnt/t/fill; sync
echo bal-touched
i=0; while [ "$(memtotal)" -gt $((full - 200000)) ] && [ $i -lt 600 ]; do sleep 0.5; i=$((i + 1)); done
echo "bal-inflated: $(memtotal)"
i=0; while [ "$(memtotal)" -lt $((full - 8192)) ] && [ $i -lt 600 ]; do sleep 0.5; i=$((i + 1)); done
echo "bal-deflated: $(memtotal)"
dd if=/dev/zero of=/mnt/t/fill bs=1M count=400 2>/dev/null; echo "bal-fill2-exit: $?"
rm -f /mnt/t/fill; sleep 600'
cmd64=$(printf '%s' "$guest_cmd" | base64 -w0)
echo "running: $vessel --accel $accel --memory 512M --balloon free_page_reporting=off --api-socket ... (guest: $(tr '\n' ';' <<<"$guest_cmd"))"
timeout -k 5 "$limit" "$vessel" --accel "$accel" --memory 512M --balloon free_page_reporting=off \
  --api-socket "$sock" --kernel "$assets/vmlinuz" --initrd "$assets/initramfs.cpio.gz" \
  --cmdline "console=ttyS0 quiet panic=-1 vessel.cmd64=$cmd64" </dev/null >"$work/out" 2>&1 &
tpid=$!

# wait_for REGEX: until the guest printed a matching line (or fail).
wait_for() {
  local deadline=$((SECONDS + limit))
  until grep -qE "$1" "$work/out"; do
    kill -0 "$tpid" 2>/dev/null || fail "vessel ended before /$1/: $(tail -n 20 "$work/out")"
    [ $SECONDS -lt $deadline ] || fail "no /$1/ within $limit s: $(tail -n 20 "$work/out")"
    sleep 0.2
  done
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$vpid/status"; }
# wait_balloon BYTES: until vm.balloon says the guest's balloon holds BYTES.
wait_balloon() {
  local deadline=$((SECONDS + limit)) json
  while :; do
    json=$("$ctl" --socket "$sock" --json balloon) || fail "vesselctl balloon failed: $json"
    grep -q "\"actual_bytes\":$1[,}]" <<<"$json" && return 0
    [ $SECONDS -lt $deadline ] || fail "the balloon never reached $1 bytes: $json"
    sleep 0.2
  done
}

wait_for '^bal-touched'
# vessel's own pid ($tpid is timeout's), from vmm.ping.
vpid=$("$ctl" --socket "$sock" --json ping | grep -o '"pid":[0-9]*' | cut -d: -f2)
if [ -z "$vpid" ] || [ ! -r "/proc/$vpid/status" ]; then fail "no pid from vmm.ping"; fi
sleep 1
before=$(rss_kib)
"$ctl" --socket "$sock" balloon 256M || problems+=("setting the balloon to 256M failed")
wait_balloon $((256 << 20))
sleep 0.5
after=$(rss_kib)
drop=$((before - after))
want=$((256 * 1024 * 8 / 10))
echo "ballooned 262144 KiB: vessel VmRSS $before KiB -> $after KiB, a drop of $drop KiB (at least $want KiB wanted)"
[ "$drop" -ge "$want" ] || problems+=("VmRSS fell by $drop KiB, less than 80% of the 256 MiB ballooned")
wait_for '^bal-inflated'

"$ctl" --socket "$sock" balloon 0 || problems+=("setting the balloon to 0 failed")
wait_balloon 0
wait_for '^bal-fill2-exit'
"$ctl" --socket "$sock" stop || problems+=("vesselctl stop failed")
wait "$tpid"
status=$?
tpid=
grep '^bal-' "$work/out"
grep -q '^bal-fill1-exit: 0' "$work/out" || problems+=("the first fill failed")
grep -q '^bal-deflated' "$work/out" || problems+=("the guest never saw its memory come back")
grep -q '^bal-fill2-exit: 0' "$work/out" || problems+=("the guest could not fill 400 MiB after the deflate")
[ "$status" -eq 0 ] || problems+=("vessel exited with $status (expected 0)")
if grep -q 'needs a reset' "$work/out"; then problems+=("a virtio device needed a reset"); fi

if [ "${#problems[@]}" -gt 0 ]; then
  printf 'problem: %s\n' "${problems[@]}"
  tail -n 30 "$work/out"
  fail "${#problems[@]} problem(s)"
fi
echo "PASS"

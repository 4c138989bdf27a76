#!/usr/bin/env bash
# System test: an idle guest costs (almost) no host CPU. Boots the Debian guest
# (build/guest, from `make assets`) under vessel with the given accelerator to
# the /init's interactive shell (no vessel.cmd64=), waits for its prompt and a
# settling time, then measures vessel's CPU time (utime + stime of all its
# threads, /proc/PID/stat) over 5 s of wall time and prints
#   idle guest: X.XX% of a host core over 5 s
# It fails above 2%. Then it types "exit" at the guest's shell (vessel's stdin
# is the serial console), so the guest powers off and vessel must end with
# status 0. Whatever happens, no vessel process is left behind.
#
# Usage: idle-cpu.sh VESSEL ASSET_DIR ACCEL(kvm|soft)
# Exit status: 0 pass, 1 fail, 77 skipped (accelerator not usable here).
# VESSEL_BOOT_TIMEOUT overrides the time limit to reach the shell (seconds);
# VESSEL_IDLE_SETTLE the wait at the prompt before measuring (default 3 s).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/system/linux-guest-lib.sh
. "$here/linux-guest-lib.sh"
guest_test_args "$@"
settle=${VESSEL_IDLE_SETTLE:-3}
window=5
max_percent=2

work=$(mktemp -d "${TMPDIR:-/tmp}/vessel-idle.XXXXXX")
pid=
# Ends vessel if it still runs: SIGTERM (vessel stops cleanly), then SIGKILL.
stop_vessel() {
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  pid=
}
trap 'stop_vessel; exec 3>&-; rm -rf "$work"' EXIT
trap 'exit 1' INT TERM HUP
# If this script is killed outright (SIGKILL, e.g. by ctest's time limit),
# vessel gets SIGTERM from the kernel (prctl PR_SET_PDEATHSIG, through
# util-linux's setpriv, which execs vessel under the same PID).
pdeath=()
setpriv --help 2>/dev/null | grep -q -- --pdeathsig && pdeath=(setpriv --pdeathsig TERM --)

show() {
  tr -d '\r' <"$work/serial.raw" >"$work/serial"
  echo "--- guest serial output (last 40 lines)"
  tail -n 40 "$work/serial"
  echo "--- vessel stderr (last 20 lines)"
  tail -n 20 "$work/stderr"
}
die() {
  show
  fail "$@"
}

# The guest's console input: a FIFO this script holds open for writing, so
# vessel sees no end of input while the test runs.
mkfifo "$work/console"
exec 3<>"$work/console"
cmdline="console=ttyS0 quiet panic=-1"
echo "running: $vessel --accel $accel --kernel $assets/vmlinuz --initrd $assets/initramfs.cpio.gz --memory 256M --cmdline '$cmdline'"
"${pdeath[@]}" "$vessel" --accel "$accel" --kernel "$assets/vmlinuz" --initrd "$assets/initramfs.cpio.gz" \
  --memory 256M --cmdline "$cmdline" <"$work/console" >"$work/serial.raw" 2>"$work/stderr" &
pid=$!

# wait_for REGEX SECONDS: until the serial output has a match, or fail.
wait_for() {
  local deadline=$((SECONDS + $2))
  while ! tr -d '\r' <"$work/serial.raw" | grep -qE "$1"; do
    kill -0 "$pid" 2>/dev/null || die "vessel ended (before the serial output showed /$1/)"
    [ "$SECONDS" -lt "$deadline" ] || die "no /$1/ on the serial console within $2 s"
    sleep 0.2
  done
}
boot_start=$SECONDS
wait_for '^VESSEL-GUEST-READY$' "$limit"
wait_for 'vessel:/# ' $((limit - (SECONDS - boot_start)))
echo "at the guest's shell after $((SECONDS - boot_start)) s; settling for $settle s"
sleep "$settle"

# CPU time of the whole process (all threads) in clock ticks: utime + stime,
# fields 14 and 15 of /proc/PID/stat, counted after the ")" that ends the name.
cpu_ticks() {
  local stat
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  # shellcheck disable=SC2086 # split the fields
  set -- $stat
  echo $((${12} + ${13}))
}
hz=$(getconf CLK_TCK)
t0=$(date +%s.%N)
c0=$(cpu_ticks) || die "vessel ended before the measurement"
sleep "$window"
c1=$(cpu_ticks) || die "vessel ended during the measurement"
t1=$(date +%s.%N)
read -r percent wall < <(awk -v c="$((c1 - c0))" -v hz="$hz" -v a="$t0" -v b="$t1" \
  'BEGIN { printf "%.2f %.2f\n", 100 * c / hz / (b - a), b - a }')
echo "idle guest: $percent% of a host core over $window s" \
  "($((c1 - c0)) ticks of 1/$hz s in $wall s, accelerator $accel)"

problems=()
awk -v p="$percent" -v m="$max_percent" 'BEGIN { exit !(p < m) }' ||
  problems+=("an idle guest costs $percent% of a host core (limit: under $max_percent%)")

# Leave the shell: /init powers the machine off and vessel ends with status 0.
printf 'exit\n' >&3
deadline=$((SECONDS + 60))
while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
  sleep 0.2
done
if kill -0 "$pid" 2>/dev/null; then
  problems+=("vessel still ran 60 s after 'exit' at the guest's shell (stopped with SIGTERM)")
  stop_vessel
else
  wait "$pid"
  status=$?
  pid=
  [ "$status" -eq 0 ] || problems+=("vessel exited with status $status after the guest's power-off (expected 0)")
fi

if [ "${#problems[@]}" -gt 0 ]; then
  show
  for p in "${problems[@]}"; do echo "FAIL: $p"; done
  exit 1
fi
echo "PASS: idle guest under $accel: $percent% of a host core (under $max_percent%); powered off with status 0"

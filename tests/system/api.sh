#!/usr/bin/env bash
# System test of the management API (docs/api.md): boots the Debian guest with
# --api-socket and --balloon and drives it with vesselctl and with raw HTTP
# (curl --unix-socket when curl exists). The guest prints a tick every 0.2 s.
# Checks: the socket is owner-only; ping, status and info answer; pausing
# stops the ticks and resuming continues them; the counters move while the
# guest works; bad requests (unknown path, wrong method, bad JSON, wrong
# types, a balloon larger than memory) get JSON errors and the VM keeps
# running; a balloon target is accepted; every endpoint once more through raw
# HTTP; vmm.shutdown (or `vesselctl stop`) ends vessel with status 0;
# afterwards the client says the socket is missing. A second boot checks
# `shutdown`: the guest's init sees the ACPI power button and powers off
# cleanly, and vessel ends with status 0.
#
# Usage: api.sh VESSEL ASSET_DIR ACCEL(kvm|soft)   (vesselctl beside vessel)
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/system/linux-guest-lib.sh
. "$here/linux-guest-lib.sh"
guest_test_args "$@"
find_vesselctl

work=$(mktemp -d "${TMPDIR:-/tmp}/vessel-api.XXXXXX")
sock=$work/api.sock
trap 'kill "$tpid" 2>/dev/null; rm -rf "$work"' EXIT
problems=()

cmd64=$(printf '%s' 'i=0; while [ $i -lt 3000 ]; do echo "TICK $i"; i=$((i+1)); sleep 0.2; done' | base64 -w0)
timeout -k 5 "$limit" "$vessel" --accel "$accel" --memory 256M --balloon --api-socket "$sock" \
  --kernel "$assets/vmlinuz" --initrd "$assets/initramfs.cpio.gz" \
  --cmdline "console=ttyS0 quiet panic=-1 vessel.cmd64=$cmd64" </dev/null >"$work/out" 2>&1 &
tpid=$!

ticks() { grep -c '^TICK' "$work/out"; }
deadline=$((SECONDS + limit))
until [ "$(ticks)" -ge 3 ] || [ $SECONDS -ge $deadline ] || ! kill -0 "$tpid" 2>/dev/null; do sleep 0.2; done
[ "$(ticks)" -ge 3 ] || fail "the guest never ticked: $(tail -n 20 "$work/out")"

perm=$(stat -c %a "$sock")
[ "$perm" = 600 ] || problems+=("socket permissions $perm, expected 600")

out=$("$ctl" --socket "$sock" ping) || problems+=("ping failed: $out")
echo "ping: $out"
out=$("$ctl" --socket "$sock" status) || problems+=("status failed")
echo "$out"
grep -q '^state: *Running' <<<"$out" || problems+=("status does not say Running: $out")
json=$("$ctl" --socket "$sock" --json status)
grep -q '"accelerator":"'"$accel"'"' <<<"$json" || problems+=("info lacks the accelerator: $json")

before=$("$ctl" --socket "$sock" --json stats)
"$ctl" --socket "$sock" pause || problems+=("pause failed")
grep -q '"state":"Paused"' <<<"$("$ctl" --socket "$sock" --json status)" || problems+=("state is not Paused")
sleep 0.5
t1=$(ticks)
sleep 2
t2=$(ticks)
echo "paused: ticks $t1 -> $t2"
[ "$t1" = "$t2" ] || problems+=("the guest ticked while paused ($t1 -> $t2)")
out=$("$ctl" --socket "$sock" pause 2>&1) && problems+=("a second pause succeeded")
grep -q 'already paused' <<<"$out" || problems+=("second pause: $out")
"$ctl" --socket "$sock" resume || problems+=("resume failed")
sleep 2
t3=$(ticks)
echo "resumed: ticks $t2 -> $t3"
[ "$t3" -gt "$t2" ] || problems+=("the guest did not tick after resume ($t2 -> $t3)")
after=$("$ctl" --socket "$sock" --json stats)
i1=$(grep -o '"instructions":[0-9]*' <<<"$before" | head -n1 | cut -d: -f2)
i2=$(grep -o '"instructions":[0-9]*' <<<"$after" | head -n1 | cut -d: -f2)
echo "instructions: $i1 -> $i2"
if [ "$accel" = soft ]; then
  [ -n "$i1" ] && [ -n "$i2" ] && [ "$i2" -gt "$i1" ] || problems+=("instruction count did not move: $i1 -> $i2")
fi
grep -q '"guest_resident_bytes"' <<<"$after" || problems+=("no memory counters: $after")
"$ctl" --socket "$sock" top --count 1 --interval 0.5 || problems+=("top failed")

# Bad requests, through the client where it can send them.
out=$("$ctl" --socket "$sock" balloon 1G 2>&1) && problems+=("a balloon larger than memory was accepted")
echo "balloon 1G: $out"
grep -q 'larger than' <<<"$out" || problems+=("balloon 1G error: $out")
"$ctl" --socket "$sock" balloon 64M || problems+=("balloon 64M refused")
"$ctl" --socket "$sock" balloon || problems+=("balloon show failed")
if command -v curl >/dev/null; then
  raw() { curl -s -o "$work/body" -w '%{http_code}' --unix-socket "$sock" "$@"; }
  check() { # STATUS DESCRIPTION CURL-ARGS...
    local want=$1 what=$2 code
    shift 2
    code=$(raw "$@")
    echo "$what: $code $(cat "$work/body")"
    [ "$code" = "$want" ] || problems+=("$what: status $code, expected $want")
    grep -q '"error"' "$work/body" || problems+=("$what: no JSON error")
  }
  check 404 "unknown path" http://localhost/api/v1/nope
  check 404 "outside the API" http://localhost/index.html
  check 405 "wrong method" -X POST http://localhost/api/v1/vm.pause
  check 400 "bad JSON" -X PUT -d '{bad' http://localhost/api/v1/vm.resize
  check 400 "wrong type" -X PUT -d '{"desired_balloon":"lots"}' http://localhost/api/v1/vm.resize
  check 400 "unsupported resize" -X PUT -d '{"desired_vcpus":2}' http://localhost/api/v1/vm.resize
  # Every endpoint once more, through raw HTTP.
  ok() { # STATUS DESCRIPTION BODY-REGEX CURL-ARGS...
    local want=$1 what=$2 body=$3 code
    shift 3
    code=$(raw "$@")
    echo "raw $what: $code $(head -c 200 "$work/body")"
    [ "$code" = "$want" ] || problems+=("raw $what: status $code, expected $want")
    [ -z "$body" ] || grep -qE "$body" "$work/body" || problems+=("raw $what: body $(cat "$work/body")")
  }
  ok 200 "vmm.ping" '"version"' http://localhost/api/v1/vmm.ping
  ok 200 "vm.info" '"state":"Running"' http://localhost/api/v1/vm.info
  ok 204 "vm.pause" '' -X PUT http://localhost/api/v1/vm.pause
  ok 200 "vm.info (paused)" '"state":"Paused"' http://localhost/api/v1/vm.info
  ok 409 "vm.power-button (paused)" '"error"' -X PUT http://localhost/api/v1/vm.power-button
  ok 204 "vm.resume" '' -X PUT http://localhost/api/v1/vm.resume
  ok 200 "vm.counters" '"vcpu0"' http://localhost/api/v1/vm.counters
  ok 204 "vm.resize" '' -X PUT -d '{"desired_balloon": 0}' http://localhost/api/v1/vm.resize
  ok 200 "vm.balloon" '"present":true' http://localhost/api/v1/vm.balloon
else
  echo "curl not installed: raw HTTP checks skipped"
fi
grep -q '"state":"Running"' <<<"$("$ctl" --socket "$sock" --json status)" || problems+=("the VM is not running after the bad requests")

# The end: vmm.shutdown through raw HTTP where curl exists (vesselctl stop,
# the same through vm.shutdown, is in balloon-api.sh), else vesselctl stop.
if command -v curl >/dev/null; then
  ok 204 "vmm.shutdown" '' -X PUT http://localhost/api/v1/vmm.shutdown
else
  "$ctl" --socket "$sock" stop || problems+=("stop failed")
fi
wait "$tpid"
status=$?
[ "$status" -eq 0 ] || problems+=("vessel exited with $status after the stop (expected 0)")
[ -e "$sock" ] && problems+=("the socket file is left behind")
out=$("$ctl" --socket "$sock" status 2>&1)
[ $? -eq 2 ] || problems+=("a client on a missing socket did not exit 2")
grep -q 'no API socket' <<<"$out" || problems+=("missing socket message: $out")

# Second boot: the power button.
rm -f "$work/out"
timeout -k 5 "$limit" "$vessel" --accel "$accel" --memory 256M --api-socket "$sock" \
  --kernel "$assets/vmlinuz" --initrd "$assets/initramfs.cpio.gz" \
  --cmdline "console=ttyS0 quiet panic=-1 vessel.cmd64=$cmd64" </dev/null >"$work/out" 2>&1 &
tpid=$!
deadline=$((SECONDS + limit))
until [ "$(ticks)" -ge 2 ] || [ $SECONDS -ge $deadline ] || ! kill -0 "$tpid" 2>/dev/null; do sleep 0.2; done
[ "$(ticks)" -ge 2 ] || fail "second boot: the guest never ticked: $(tail -n 20 "$work/out")"
out=$("$ctl" --socket "$sock" shutdown) || problems+=("shutdown failed: $out")
echo "shutdown: $out"
wait "$tpid"
status=$?
echo "after the power button: vessel exited with $status"
grep -q 'vessel-init: power button pressed' "$work/out" ||
  problems+=("the guest's init did not see the power button")
grep -q 'reboot: Power down' "$work/out" || problems+=("the guest did not power itself off")
[ "$status" -eq 0 ] || problems+=("vessel exited with $status after the power button (expected 0)")

if [ "${#problems[@]}" -gt 0 ]; then
  printf 'problem: %s\n' "${problems[@]}"
  tail -n 30 "$work/out"
  fail "${#problems[@]} problem(s)"
fi
echo "PASS"

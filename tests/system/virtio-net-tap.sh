#!/usr/bin/env bash
# System test: virtio-net on a TAP interface (--net tap=NAME). It runs in a
# fresh network namespace (unshare -n) where it creates the TAP with
# `ip tuntap add`, gives the host side 192.168.77.1/24 and serves a random file
# over HTTP there. The guest takes 192.168.77.2/24 statically, pings the host,
# downloads the file and checks its SHA-256. One boot. Exits 77 with the
# reason when no TAP can be made (no /dev/net/tun, no CAP_NET_ADMIN, no
# network namespaces).
#
# Usage: virtio-net-tap.sh VESSEL ASSET_DIR ACCEL(kvm|soft)
# Exit status: 0 pass, 1 fail, 77 skipped.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ "${VESSEL_TAP_NETNS:-}" != 1 ]; then
  # Re-run inside a new network namespace, so the TAP and its address touch
  # nothing on the host.
  [ -e /dev/net/tun ] || {
    echo "SKIP: no /dev/net/tun (the tun module is not loaded)"
    exit 77
  }
  command -v ip >/dev/null || {
    echo "SKIP: no 'ip' command (iproute2)"
    exit 77
  }
  if ! command -v unshare >/dev/null || ! unshare -n true 2>/dev/null; then
    echo "SKIP: cannot make a network namespace (unshare -n: needs CAP_SYS_ADMIN)"
    exit 77
  fi
  VESSEL_TAP_NETNS=1 exec unshare -n bash "${BASH_SOURCE[0]}" "$@"
fi

# shellcheck source=tests/system/linux-guest-lib.sh
. "$here/linux-guest-lib.sh"
guest_test_args "$@"
command -v python3 >/dev/null || {
  echo "SKIP: python3 is needed for the host's HTTP server"
  exit 77
}

tap=vtap$$
tap=${tap:0:15}
if ! err=$(ip tuntap add dev "$tap" mode tap 2>&1); then
  echo "SKIP: cannot create a TAP device ($err): needs CAP_NET_ADMIN"
  exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/vessel-tap.XXXXXX")
http_pid=
cleanup() {
  [ -n "$http_pid" ] && kill "$http_pid" 2>/dev/null
  ip link del "$tap" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
ip link set lo up
ip addr add 192.168.77.1/24 dev "$tap" || fail "cannot give $tap an address"
ip link set "$tap" up || fail "cannot bring $tap up"

mkdir -p "$work/srv"
size=$(((1 << 20) + RANDOM * 32))
head -c "$size" /dev/urandom >"$work/srv/file"
want_sha=$(sha256sum "$work/srv/file" | cut -d' ' -f1)
port=8000
python3 -m http.server --bind 192.168.77.1 --directory "$work/srv" "$port" >"$work/http.log" 2>&1 &
http_pid=$!
for _ in $(seq 50); do
  python3 -c "import socket; socket.create_connection(('192.168.77.1', $port), 1)" 2>/dev/null && break
  sleep 0.1
done

guest_cmd="ip link set eth0 up; ip addr add 192.168.77.2/24 dev eth0
ping -c 3 -W 5 192.168.77.1 >/tmp/ping 2>&1; echo \"tap-ping-exit: \$?\"
sed 's/^/tap-ping: /' /tmp/ping
wget -q -O /tmp/file http://192.168.77.1:$port/file; echo \"tap-wget-exit: \$?\"
got=\$(sha256sum /tmp/file | cut -d' ' -f1)
echo \"tap-wget-sha: \$got \$(wc -c </tmp/file)\"
[ \"\$got\" = $want_sha ] && echo tap-wget-sha-ok"
cmd64=$(printf '%s' "$guest_cmd" | base64 -w0)
cmdline="console=ttyS0 quiet panic=-1 vessel.cmd64=$cmd64"
echo "running: $vessel --accel $accel --net tap=$tap,mac=52:54:00:77:00:02 --kernel $assets/vmlinuz --initrd $assets/initramfs.cpio.gz --memory 256M --cmdline '$cmdline'"
start=$(date +%s)
timeout -k 5 "$limit" "$vessel" --accel "$accel" --net "tap=$tap,mac=52:54:00:77:00:02" \
  --kernel "$assets/vmlinuz" --initrd "$assets/initramfs.cpio.gz" --memory 256M \
  --cmdline "$cmdline" </dev/null >"$work/serial.raw" 2>"$work/stderr"
status=$?
elapsed=$(($(date +%s) - start))
tr -d '\r' <"$work/serial.raw" >"$work/serial"

problems=()
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  problems+=("vessel did not finish within $limit s")
elif [ "$status" -ne 0 ]; then
  problems+=("vessel exited with status $status (expected 0: guest power-off)")
fi
line() { grep -m1 "^$1" "$work/serial" || echo "no '$1' line"; }
grep -qx 'VESSEL-CMD-EXIT 0' "$work/serial" || problems+=("no 'VESSEL-CMD-EXIT 0' line")
grep -qx 'tap-ping-exit: 0' "$work/serial" || problems+=("the guest cannot ping the host: $(line tap-ping-exit)")
grep -qx 'tap-wget-exit: 0' "$work/serial" || problems+=("wget failed: $(line tap-wget-exit)")
grep -qx 'tap-wget-sha-ok' "$work/serial" ||
  problems+=("the downloaded file's SHA-256 is wrong: $(line tap-wget-sha) (want $want_sha $size)")
grep -q 'needs a reset' "$work/stderr" && problems+=("vessel logged a virtio error: $(grep -m1 'needs a reset' "$work/stderr")")

if [ "${#problems[@]}" -gt 0 ]; then
  echo "--- guest serial output (last 40 lines)"
  tail -n 40 "$work/serial"
  echo "--- vessel stderr (last 20 lines)"
  tail -n 20 "$work/stderr"
  for p in "${problems[@]}"; do echo "FAIL: $p"; done
  exit 1
fi
grep -E '^tap-(ping: .*packets|wget-sha)' "$work/serial"
echo "PASS: under $accel the guest pinged the host over TAP $tap and downloaded $size bytes (${elapsed} s)"

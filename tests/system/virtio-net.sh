#!/usr/bin/env bash
# System test: virtio-net with user-mode networking (--net user, libslirp).
# One boot. The host serves a random 1-4 MiB file over HTTP on 127.0.0.1; the
# guest gets its address by DHCP (busybox udhcpc: it must be 10.0.2.15/24 with
# the default route via 10.0.2.2 and DNS 10.0.2.3), downloads the file from
# the gateway address 10.0.2.2 and checks its SHA-256 against the one on its
# command line. Then the guest serves a file of its own with nc on port 8080
# and the host fetches it through --net user,hostfwd=tcp:127.0.0.1:PORT-:8080
# and checks its size and SHA-256. The guest then powers off.
#
# Usage: virtio-net.sh VESSEL ASSET_DIR ACCEL(kvm|soft)
# Exit status: 0 pass, 1 fail, 77 skipped (accelerator not usable here).
# VESSEL_BOOT_TIMEOUT overrides the boot time limit in seconds.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/system/linux-guest-lib.sh
. "$here/linux-guest-lib.sh"
guest_test_args "$@"
command -v python3 >/dev/null || {
  echo "SKIP: python3 is needed for the host's HTTP server"
  exit 77
}

work=$(mktemp -d "${TMPDIR:-/tmp}/vessel-net.XXXXXX")
http_pid=
vessel_pid=
cleanup() {
  [ -n "$vessel_pid" ] && kill "$vessel_pid" 2>/dev/null
  [ -n "$http_pid" ] && kill "$http_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The file the guest downloads: 1 to 4 MiB of random bytes.
mkdir -p "$work/srv"
size=$(((1 << 20) + RANDOM * 96))
head -c "$size" /dev/urandom >"$work/srv/file"
want_sha=$(sha256sum "$work/srv/file" | cut -d' ' -f1)

http_port=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$work/srv" "$http_port" \
  >"$work/http.log" 2>&1 &
http_pid=$!
for _ in $(seq 50); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $http_port), 1)" 2>/dev/null && break
  sleep 0.1
done
fwd_port=$(free_port)

# Each line the test checks starts with a tag, so kernel messages cannot pass for it.
guest_cmd="sed 's/^/net-pci: /' /proc/bus/pci/devices
udhcpc -i eth0 -n -q -t 5 -T 2 >/tmp/dhcp 2>&1; echo \"net-dhcp-exit: \$?\"
sed 's/^/net-dhcp: /' /tmp/dhcp
echo \"net-addr: \$(ip -4 -o addr show dev eth0 | awk '{ print \$4 }')\"
echo \"net-route: \$(ip route show default)\"
echo \"net-dns: \$(grep nameserver /etc/resolv.conf)\"
wget -q -O /tmp/file http://10.0.2.2:$http_port/file; echo \"net-wget-exit: \$?\"
got=\$(sha256sum /tmp/file | cut -d' ' -f1)
echo \"net-wget-sha: \$got \$(wc -c </tmp/file)\"
[ \"\$got\" = $want_sha ] && echo net-wget-sha-ok
head -c 1234567 /dev/urandom >/tmp/out
echo \"net-serve-sha: \$(sha256sum /tmp/out | cut -d' ' -f1) \$(wc -c </tmp/out)\"
timeout 120 nc -l -p 8080 </tmp/out & nc_pid=\$!
sleep 1; echo net-serve-ready
wait \$nc_pid; echo \"net-serve-exit: \$?\"
grep virtio /proc/interrupts | sed 's/^ */net-irq: /'"
cmd64=$(printf '%s' "$guest_cmd" | base64 -w0)
cmdline="console=ttyS0 quiet panic=-1 vessel.cmd64=$cmd64"
net="user,hostfwd=tcp:127.0.0.1:$fwd_port-:8080"
echo "running: $vessel --accel $accel --net $net --kernel $assets/vmlinuz --initrd $assets/initramfs.cpio.gz --memory 256M --cmdline '$cmdline'"
start=$(date +%s)
timeout -k 5 "$limit" "$vessel" --accel "$accel" --net "$net" --kernel "$assets/vmlinuz" \
  --initrd "$assets/initramfs.cpio.gz" --memory 256M --cmdline "$cmdline" \
  </dev/null >"$work/serial.raw" 2>"$work/stderr" &
vessel_pid=$!

problems=()
# Wait for the guest's server, then fetch through the forwarded port (again
# if the connection came before nc listened: it then closes with no data).
ready=0
while kill -0 "$vessel_pid" 2>/dev/null; do
  if tr -d '\r' <"$work/serial.raw" | grep -qx 'net-serve-ready'; then
    ready=1
    break
  fi
  sleep 0.5
done
if [ "$ready" = 1 ]; then
  python3 - "$fwd_port" "$work/fetched" <<'PY' || problems+=("fetching through the forwarded port failed")
import socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
deadline = time.time() + 60
while True:
    data = b""
    try:
        s = socket.create_connection(("127.0.0.1", port), 5)
        s.settimeout(30)
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        s.close()
    except OSError as e:
        print("fetch:", e)
    if data or time.time() > deadline:
        break
    time.sleep(0.5)
open(out, "wb").write(data)
print("fetched", len(data), "bytes through the forwarded port")
PY
else
  problems+=("the guest never printed net-serve-ready")
fi
wait "$vessel_pid"
status=$?
vessel_pid=
elapsed=$(($(date +%s) - start))
tr -d '\r' <"$work/serial.raw" >"$work/serial"

if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  problems+=("vessel did not finish within $limit s")
elif [ "$status" -ne 0 ]; then
  problems+=("vessel exited with status $status (expected 0: guest power-off)")
fi
line() { grep -m1 "^$1" "$work/serial" || echo "no '$1' line"; }
grep -qx 'VESSEL-CMD-EXIT 0' "$work/serial" || problems+=("no 'VESSEL-CMD-EXIT 0' line")
grep -qE '^net-pci: [0-9a-f]{4}[[:space:]]+1af41041' "$work/serial" ||
  problems+=("/proc/bus/pci/devices shows no virtio-net device (1af4:1041)")
grep -qx 'net-dhcp-exit: 0' "$work/serial" || problems+=("udhcpc failed: $(line net-dhcp-exit)")
grep -qx 'net-addr: 10.0.2.15/24' "$work/serial" || problems+=("eth0 is not 10.0.2.15/24: $(line net-addr)")
grep -qE '^net-route: default via 10\.0\.2\.2 dev eth0' "$work/serial" ||
  problems+=("no default route via 10.0.2.2: $(line net-route)")
grep -qx 'net-dns: nameserver 10.0.2.3' "$work/serial" || problems+=("DNS is not 10.0.2.3: $(line net-dns)")
grep -qx 'net-wget-exit: 0' "$work/serial" || problems+=("wget failed: $(line net-wget-exit)")
grep -qx 'net-wget-sha-ok' "$work/serial" ||
  problems+=("the downloaded file's SHA-256 is wrong: $(line net-wget-sha) (want $want_sha $size)")
serve=$(sed -n 's/^net-serve-sha: //p' "$work/serial" | head -n 1)
if [ -f "$work/fetched" ]; then
  fetched="$(sha256sum "$work/fetched" | cut -d' ' -f1) $(wc -c <"$work/fetched")"
  [ -n "$serve" ] && [ "$fetched" = "$serve" ] ||
    problems+=("the file fetched through hostfwd is '$fetched', the guest served '$serve'")
fi
grep -qx 'net-serve-exit: 0' "$work/serial" || problems+=("the guest's nc failed: $(line net-serve-exit)")
n=$(grep -E '^net-irq: .*virtio0-input' "$work/serial" | awk '{ print $3 }' | head -n 1)
[ -n "$n" ] && [ "$n" -gt 0 ] || problems+=("no receive-queue interrupts in /proc/interrupts (${n:-no line})")
grep -q 'needs a reset' "$work/stderr" && problems+=("vessel logged a virtio error: $(grep -m1 'needs a reset' "$work/stderr")")
grep -q 'virtio-net:' "$work/stderr" && problems+=("vessel warned: $(grep -m1 'virtio-net:' "$work/stderr")")

if [ "${#problems[@]}" -gt 0 ]; then
  echo "--- guest serial output (last 60 lines)"
  tail -n 60 "$work/serial"
  echo "--- vessel stderr (last 20 lines)"
  tail -n 20 "$work/stderr"
  for p in "${problems[@]}"; do echo "FAIL: $p"; done
  exit 1
fi
grep -E '^net-(addr|route|dns|wget-sha|serve-sha|irq)' "$work/serial"
echo "PASS: under $accel the guest got 10.0.2.15 by DHCP, downloaded $size bytes from the host" \
  "through 10.0.2.2 and served $(wc -c <"$work/fetched") bytes back through hostfwd (${elapsed} s)"

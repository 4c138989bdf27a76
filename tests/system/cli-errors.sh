#!/usr/bin/env bash
# System test: vessel's behaviour on bad input. Each case must end within a few
# seconds with a non-zero status that is not a signal (< 128), and print on
# stderr at least one line starting "vessel: " that names the problem.
#
# Usage: cli-errors.sh VESSEL [ASSET_DIR]
# ASSET_DIR/vmlinuz (from `make assets`) is used for the "kernel too big for
# memory" case when present; the other cases use tiny multiboot images made here.
set -uo pipefail

if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
  echo "usage: $0 VESSEL [ASSET_DIR]" >&2
  exit 2
fi
vessel=$1
assets=${2:-}
limit=10

[ -x "$vessel" ] || {
  echo "FAIL: vessel binary $vessel not found"
  exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/vessel-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Little-endian 32-bit words as raw bytes.
le32() {
  local v
  for v in "$@"; do
    v=$((v & 0xFFFFFFFF))
    printf '%b' "\\x$(printf %02x $((v & 255)))\\x$(printf %02x $(((v >> 8) & 255)))"
    printf '%b' "\\x$(printf %02x $(((v >> 16) & 255)))\\x$(printf %02x $(((v >> 24) & 255)))"
  done
}

# A multiboot v1 image with the address fields (flag 16): header at file offset
# 0, loaded at LOAD, code at offset 32 (mov al,0; out 0xf4,al; cli; hlt; jmp hlt).
multiboot_image() { # LOAD BSS_END
  local magic=0x1BADB002 flags=0x00010000 load=$1 bss_end=$2
  le32 $magic $flags $((-(magic + flags))) "$load" "$load" 0 "$bss_end" $((load + 32))
  printf '\xb0\x00\xe6\xf4\xfa\xf4\xeb\xfd'
}
multiboot_image 0x100000 0 >"$work/good.mb"
multiboot_image 0x7F000000 0 >"$work/load-beyond-memory.mb"
multiboot_image 0x100000 0x40000000 >"$work/bss-beyond-memory.mb"
head -c 65536 /dev/urandom >"$work/random.bin"
printf 'This is not a kernel.\nJust some text.\n' >"$work/text.txt"

passed=0
failed=0
skipped=0

# check NAME PATTERN [--netns-kvm] -- ARGS...: PATTERN (extended regex, any case)
# must appear in a "vessel: " line of stderr.
check() {
  local name=$1 pattern=$2 wrap=()
  shift 2
  if [ "$1" = --null-kvm ]; then
    wrap=(unshare -m sh -c 'mount --bind /dev/null /dev/kvm && exec "$@"' sh)
    shift
  fi
  [ "$1" = -- ] && shift
  local start end status problems=()
  start=$(date +%s.%N)
  timeout -k 2 "$limit" "${wrap[@]}" "$vessel" "$@" </dev/null >"$work/out" 2>"$work/err"
  status=$?
  end=$(date +%s.%N)
  if [ "$status" -eq 0 ]; then
    problems+=("exit status 0, expected a failure")
  elif [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    problems+=("still running after $limit s")
  elif [ "$status" -ge 128 ]; then
    problems+=("killed by signal $((status - 128))")
  fi
  if ! grep -q '^vessel: ' "$work/err"; then
    problems+=("no stderr line starting 'vessel: '")
  elif ! grep '^vessel: ' "$work/err" | grep -qiE "$pattern"; then
    problems+=("no 'vessel: ' line on stderr names the problem (/$pattern/)")
  fi
  if grep -qE 'Sanitizer|runtime error:|terminate called|Assertion .* failed' "$work/err"; then
    problems+=("a sanitizer, assertion or uncaught exception report on stderr")
  fi
  local secs
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
  if [ "${#problems[@]}" -eq 0 ]; then
    echo "PASS: $name (status $status, ${secs} s): $(grep -m1 '^vessel: ' "$work/err")"
    passed=$((passed + 1))
  else
    echo "FAIL: $name: vessel $*"
    for p in "${problems[@]}"; do echo "    $p"; done
    echo "    status $status after ${secs} s; stderr:"
    head -n 10 "$work/err" | sed 's/^/    | /'
    failed=$((failed + 1))
  fi
}

skip() {
  echo "SKIP: $1: $2"
  skipped=$((skipped + 1))
}

good=$work/good.mb
check "missing kernel file" "no-such-kernel" -- --kernel "$work/no-such-kernel" --memory 16M
check "kernel is random bytes" "random\.bin|kernel" -- --kernel "$work/random.bin" --memory 16M
check "kernel is a text file" "text\.txt|kernel" -- --kernel "$work/text.txt" --memory 16M
check "--memory 0" "memory" -- --kernel "$good" --memory 0
check "--memory 12Q" "memory|12Q" -- --kernel "$good" --memory 12Q
check "--jit maybe" "takes on or off" -- --kernel "$good" --memory 16M --jit maybe
check "--memory 100T" "memory|100T" -- --kernel "$good" --memory 100T
check "unknown flag" "no-such-flag" -- --kernel "$good" --no-such-flag
check "--console with a bad device" "console|tty7" -- --kernel "$good" --memory 16M --console tty7
check "missing initrd file" "no-such-initrd" -- --kernel "$good" --initrd "$work/no-such-initrd" --memory 16M
check "multiboot load address beyond memory" "memory|load|multiboot|kernel" -- \
  --kernel "$work/load-beyond-memory.mb" --memory 16M
check "multiboot bss beyond memory" "memory|bss|multiboot|kernel" -- \
  --kernel "$work/bss-beyond-memory.mb" --memory 16M

# --disk: a missing image and bad options, each one clear line.
head -c 1048576 /dev/zero >"$work/disk.img"
head -c 1000 /dev/zero >"$work/odd.img"
check "--disk missing image" "no-such-disk.*does not exist" -- \
  --kernel "$good" --memory 16M --disk "$work/no-such-disk.img"
check "--disk unknown key" "disk '.*': unknown key 'colour'" -- \
  --kernel "$good" --memory 16M --disk "$work/disk.img,colour=red"
check "--disk bad cache mode" "unknown cache mode 'fast'" -- \
  --kernel "$good" --memory 16M --disk "$work/disk.img,cache=fast"
check "--disk bad aio mode" "unknown aio mode 'native'" -- \
  --kernel "$good" --memory 16M --disk "$work/disk.img,aio=native"
check "--disk duplicate key" "'readonly' given twice" -- \
  --kernel "$good" --memory 16M --disk "$work/disk.img,readonly=on,readonly=off"
check "--disk empty path" "no image path" -- --kernel "$good" --memory 16M --disk ",cache=none"
check "--disk raw image not whole sectors" "odd\.img.*multiple of 512" -- \
  --kernel "$good" --memory 16M --disk "$work/odd.img,format=raw"
# --net: every malformed form is refused before the VM is built.
check "--uuid too short" "uuid.*not a UUID" -- --kernel "$good" --memory 16M --uuid 1234-5678
check "--uuid with a non-hex digit" "uuid.*not a UUID.*hex digit" -- \
  --kernel "$good" --memory 16M --uuid 12345678-9abc-def0-1122-33445566778g
check "--uuid without hyphens" "uuid.*not a UUID" -- \
  --kernel "$good" --memory 16M --uuid 123456789abcdef0112233445566778899aa
check "--net with an unknown backend" "net.*bogus" -- --kernel "$good" --memory 16M --net bogus
check "--net user with a multicast MAC" "mac|multicast" -- \
  --kernel "$good" --memory 16M --net user,mac=01:00:5e:00:00:01
check "--net user with a malformed MAC" "mac" -- --kernel "$good" --memory 16M --net user,mac=52:54:00
check "--net user with an unknown key" "unknown key" -- --kernel "$good" --memory 16M --net user,speed=10
check "--net hostfwd without a guest side" "hostfwd" -- \
  --kernel "$good" --memory 16M --net user,hostfwd=tcp:127.0.0.1:8080
check "--net hostfwd with port 99999" "port" -- \
  --kernel "$good" --memory 16M --net user,hostfwd=tcp:127.0.0.1:99999-:80
check "--net hostfwd with a bad address" "IPv4" -- \
  --kernel "$good" --memory 16M --net user,hostfwd=tcp:localhost:8080-:80
check "--net hostfwd on tap" "user networking only" -- \
  --kernel "$good" --memory 16M --net tap=tap0,hostfwd=tcp::8080-:80
check "--net tap without a name" "tap=NAME" -- --kernel "$good" --memory 16M --net tap=
# --config: a missing file, a bad key or value (named), and flags override it
# (the kernel path the error names is the command line's, not the file's).
printf 'kernel = "%s"\nmemory = "16M"\n' "$work/from-file.mb" >"$work/vm.toml"
printf 'kernel = "%s"\nmemroy = "16M"\n' "$good" >"$work/typo.toml"
printf '[[disk]]\npath = "%s"\ncache = "fast"\n' "$work/text.txt" >"$work/bad-disk.toml"
printf 'memory = "16M"\ncpus = = 1\n' >"$work/syntax.toml"
check "--config file missing" "cannot read the config file.*nope.toml" -- --config "$work/nope.toml"
check "--config with an unknown key" "typo.toml: memroy: unknown key" -- --config "$work/typo.toml"
check "--config with a bad disk cache" "bad-disk.toml: disk\[0\]:.*fast" -- \
  --kernel "$good" --config "$work/bad-disk.toml"
check "--config with a TOML syntax error" "syntax.toml:2:" -- --config "$work/syntax.toml"
check "--config's kernel, used" "from-file.mb" -- --config "$work/vm.toml"
check "--kernel overrides --config's" "from-cli.mb" -- --config "$work/vm.toml" --kernel "$work/from-cli.mb"

# --balloon: malformed options are refused before the VM is built.
check "--balloon with an unknown key" "balloon.*unknown key" -- --kernel "$good" --memory 16M --balloon colour=blue
check "--balloon with a size not in pages" "balloon size.*4 KiB" -- --kernel "$good" --memory 16M --balloon size=100
check "--balloon with deflate_on_oom=yes" "balloon deflate_on_oom.*on or off" -- \
  --kernel "$good" --memory 16M --balloon deflate_on_oom=yes
# A forwarded host port that is already taken: a listener holds it.
busy_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null)
if [ -n "$busy_port" ]; then
  python3 -c "import socket, time; s = socket.socket(); s.bind(('127.0.0.1', $busy_port)); s.listen(); open('$work/busy', 'w').close(); time.sleep(60)" &
  busy_pid=$!
  for _ in $(seq 100); do
    [ -f "$work/busy" ] && break
    sleep 0.1
  done
  check "--net hostfwd on a host port in use" "hostfwd.*$busy_port|cannot listen" -- \
    --kernel "$good" --memory 16M --net "user,hostfwd=tcp:127.0.0.1:$busy_port-:80"
  kill "$busy_pid" 2>/dev/null
  wait "$busy_pid" 2>/dev/null
else
  skip "--net hostfwd on a host port in use" "no python3 to hold a port"
fi

if [ -n "$assets" ] && [ -f "$assets/vmlinuz" ]; then
  check "Linux kernel too big for 4M of memory" "memory|fit|large|big|kernel|vmlinuz" -- \
    --kernel "$assets/vmlinuz" --memory 4M
else
  skip "Linux kernel too big for 4M of memory" "no guest assets in '${assets}' (run 'make assets')"
fi

# --accel kvm where /dev/kvm cannot be used: as it is here if it does not open;
# else, with the privilege for it, in a mount namespace where /dev/kvm is /dev/null.
if ! (exec 3<>/dev/kvm) 2>/dev/null; then
  check "--accel kvm without a usable /dev/kvm" "kvm" -- --kernel "$good" --memory 16M --accel kvm
elif unshare -m sh -c 'mount --bind /dev/null /dev/kvm' 2>/dev/null; then
  check "--accel kvm with /dev/null as /dev/kvm" "kvm" --null-kvm -- \
    --kernel "$good" --memory 16M --accel kvm
else
  skip "--accel kvm without a usable /dev/kvm" "/dev/kvm opens here and no mount namespace can hide it"
fi

# --probe-accel: one line per accelerator, in the form scripts match on
# ("kvm: fast (...)", "kvm: slow (...)", "NAME: unavailable (...)").
probe_out=$("$vessel" --probe-accel 2>&1)
if [ $? -eq 0 ] && [ "$(printf '%s\n' "$probe_out" | wc -l)" -eq 2 ] &&
  printf '%s\n' "$probe_out" | grep -qE '^kvm: (fast|slow|unavailable) \(' &&
  printf '%s\n' "$probe_out" | grep -qE '^soft: (fast|slow|unavailable|available)'; then
  echo "ok: --probe-accel lines"
  passed=$((passed + 1))
else
  echo "FAIL: --probe-accel printed:"
  printf '%s\n' "$probe_out"
  failed=$((failed + 1))
fi

echo "cli-errors: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

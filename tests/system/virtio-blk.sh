#!/usr/bin/env bash
# System test: virtio-blk with ext4 images made on the host.
#
# Mode "all" (one boot, seven disks): every cache mode and both aio engines
#   vda cache=none,aio=threads       vdb cache=writeback,aio=io_uring
#   vdc cache=writethrough,aio=threads vdd cache=unsafe,aio=io_uring
#   vde readonly=on,cache=none,aio=io_uring
#   vdf qcow2 v3, cache=writeback,aio=threads
#   vdg qcow2 v2, cache=none,aio=io_uring
# Each image holds a known file. The guest mounts every disk, checks the
# known file's sha256 and the disk's serial (GET_ID), and on the writable
# disks writes a new file, syncs, re-reads it with the page cache dropped,
# runs fstrim (DISCARD) and unmounts; writing to the read-only disk must
# fail. After the power-off the host finds each new file's bytes in its
# image (debugfs) with the checksum the guest printed, fsck.ext4 -n -f finds
# every image clean (qcow2 ones: `qemu-img check` clean, then converted to
# raw for debugfs and fsck), and the read-only image is unchanged.
#
# Mode "sigkill" (one boot, one disk): the guest writes a file and syncs and
# prints a line; the host SIGKILLs vessel as soon as it sees that line and
# then finds the file's bytes in the image: a flushed write survives SIGKILL.
#
# Usage: virtio-blk.sh VESSEL ASSET_DIR ACCEL(kvm|soft) [all|sigkill]
# Exit status: 0 pass, 1 fail, 77 skipped (accelerator not usable here).
# VESSEL_BOOT_TIMEOUT overrides the boot time limit in seconds.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mode=all
if [ "$#" -eq 4 ]; then
  mode=$4
  set -- "$1" "$2" "$3"
fi
# shellcheck source=tests/system/linux-guest-lib.sh
. "$here/linux-guest-lib.sh"
guest_test_args "$@"
case "$mode" in
all | sigkill) ;;
*) fail "unknown mode '$mode' (all or sigkill)" ;;
esac
command -v qemu-img >/dev/null || fail "qemu-img not found (qemu-utils)"
for tool in mkfs.ext4 debugfs fsck.ext4 e2fsck sha256sum; do
  command -v "$tool" >/dev/null || PATH="$PATH:/sbin:/usr/sbin"
  command -v "$tool" >/dev/null || fail "$tool not found (e2fsprogs)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/vessel-blk.XXXXXX")
vessel_pid=
cleanup() {
  [ -n "$vessel_pid" ] && kill -9 "$vessel_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# The known file every image starts with.
mkdir -p "$work/src"
head -c 300000 /dev/urandom >"$work/src/known.bin"
known_sha=$(sha256sum <"$work/src/known.bin" | cut -d' ' -f1)

# Formats: raw, qcow2 (version 3, qemu-img's default) and qcow2v2 (version 2,
# compat=0.10); vessel is told format=qcow2 for both.
vessel_format() { [ "$1" = raw ] && echo raw || echo qcow2; }

# make_disk IMAGE FORMAT: a 64 MiB ext4 image holding known.bin, in FORMAT
# (qcow2: made raw, then converted by qemu-img).
make_disk() {
  local image=$1 format=$2 compat=1.1
  case "$format" in
  raw) mkfs.ext4 -q -F -d "$work/src" "$image" 64M || fail "mkfs.ext4 failed for $image" ;;
  qcow2 | qcow2v2)
    [ "$format" = qcow2v2 ] && compat=0.10
    mkfs.ext4 -q -F -d "$work/src" "$image.src" 64M || fail "mkfs.ext4 failed for $image"
    qemu-img convert -f raw -O qcow2 -o "compat=$compat" "$image.src" "$image" ||
      fail "qemu-img convert to qcow2 failed for $image"
    rm -f "$image.src"
    ;;
  *) fail "make_disk: unknown format '$format'" ;;
  esac
}

# disk_raw IMAGE FORMAT: prints a path to the image's bytes as a raw disk
# (the image itself for raw; a qcow2 image is converted once, to IMAGE.raw).
disk_raw() {
  local image=$1 format=$2
  case "$format" in
  raw) echo "$image" ;;
  qcow2 | qcow2v2)
    [ -f "$image.raw" ] || qemu-img convert -f qcow2 -O raw "$image" "$image.raw" ||
      fail "qemu-img convert to raw failed for $image"
    echo "$image.raw"
    ;;
  *) fail "disk_raw: unknown format '$format'" ;;
  esac
}

# check_disk_image IMAGE FORMAT: appends to `problems` unless the format's
# checker finds the image consistent (qemu-img check for qcow2; fsck.ext4).
check_disk_image() {
  local image=$1 format=$2 raw out
  if [ "$format" != raw ] && ! out=$(qemu-img check "$image" 2>&1); then
    problems+=("qemu-img check $(basename "$image") is not clean: $(tail -n 3 <<<"$out" | tr '\n' ' ')")
  fi
  raw=$(disk_raw "$image" "$format")
  if ! out=$(fsck.ext4 -n -f "$raw" 2>&1); then
    problems+=("fsck.ext4 -n -f $(basename "$image") is not clean: $(tail -n 3 <<<"$out" | tr '\n' ' ')")
  fi
}

# file_sha IMAGE FORMAT PATH: sha256 of PATH inside the image's ext4 (debugfs).
file_sha() {
  local raw
  raw=$(disk_raw "$1" "$2")
  debugfs -R "cat $3" "$raw" 2>/dev/null | sha256sum | cut -d' ' -f1
}

# boot_args CMD VESSEL_ARGS...: sets `args`, vessel's arguments for a boot
# that runs the shell command CMD in the guest.
boot_args() {
  local cmd64
  cmd64=$(printf '%s' "$1" | base64 -w0)
  shift
  args=(--accel "$accel" --kernel "$assets/vmlinuz" --initrd "$assets/initramfs.cpio.gz"
    --memory 256M --cmdline "console=ttyS0 quiet panic=-1 vessel.cmd64=$cmd64" "$@")
}

report() { # MODE: prints the logs and the problems, exits 1 if any
  if [ "${#problems[@]}" -gt 0 ]; then
    echo "--- guest serial output (last 60 lines)"
    tail -n 60 "$work/serial"
    echo "--- vessel stderr (last 20 lines)"
    tail -n 20 "$work/stderr"
    for p in "${problems[@]}"; do echo "FAIL ($1): $p"; done
    exit 1
  fi
}

problems=()

if [ "$mode" = all ]; then
  # name options format: one line per disk, in vda.. order.
  disks=(
    "vda cache=none,aio=threads raw"
    "vdb cache=writeback,aio=io_uring raw"
    "vdc cache=writethrough,aio=threads raw"
    "vdd cache=unsafe,aio=io_uring raw"
    "vde readonly=on,cache=none,aio=io_uring raw"
    "vdf cache=writeback,aio=threads qcow2"
    "vdg cache=none,aio=io_uring qcow2v2"
  )
  disk_args=()
  rw_names=()
  ro_names=()
  for d in "${disks[@]}"; do
    read -r name opts format <<<"$d"
    make_disk "$work/$name.img" "$format"
    disk_args+=(--disk "$work/$name.img,format=$(vessel_format "$format"),$opts")
    if [[ "$opts" == *readonly=on* ]]; then
      ro_names+=("$name")
      sha256sum <"$work/$name.img" | cut -d' ' -f1 >"$work/$name.before"
    else
      rw_names+=("$name")
    fi
  done
  guest_cmd="for d in ${rw_names[*]}; do
  mkdir -p /mnt/\$d && mount -t ext4 /dev/\$d /mnt/\$d || { echo \"blk-mount-failed: \$d\"; continue; }
  echo \"blk-serial: \$d \$(cat /sys/block/\$d/serial)\"
  echo \"blk-known: \$d \$(sha256sum </mnt/\$d/known.bin | cut -d' ' -f1)\"
  head -c 200000 /dev/urandom >/mnt/\$d/new.bin
  echo \"blk-new: \$d \$(sha256sum </mnt/\$d/new.bin | cut -d' ' -f1)\"
  sync
  echo 3 >/proc/sys/vm/drop_caches
  echo \"blk-reread: \$d \$(sha256sum </mnt/\$d/new.bin | cut -d' ' -f1)\"
  fstrim /mnt/\$d >/dev/null 2>&1; echo \"blk-fstrim: \$d \$?\"
  umount /mnt/\$d && echo \"blk-umount: \$d ok\"
done
for d in ${ro_names[*]}; do
  echo \"blk-ro: \$d \$(cat /sys/block/\$d/ro)\"
  mkdir -p /mnt/\$d && mount -t ext4 -o ro /dev/\$d /mnt/\$d || { echo \"blk-mount-failed: \$d\"; continue; }
  echo \"blk-known: \$d \$(sha256sum </mnt/\$d/known.bin | cut -d' ' -f1)\"
  touch /mnt/\$d/x 2>/dev/null; echo \"blk-ro-touch: \$d \$?\"
  umount /mnt/\$d
  dd if=/dev/zero of=/dev/\$d bs=4096 count=1 oflag=direct 2>/dev/null; echo \"blk-ro-dd: \$d \$?\"
done
dmesg | grep -iE 'virtio_blk|vd[a-e]|EXT4-fs error|I/O error' | sed 's/^/blk-dmesg: /'"
  boot_args "$guest_cmd" "${disk_args[@]}"
  echo "running: $vessel ${args[*]}"
  start=$(date +%s.%N)
  timeout -k 5 "$limit" "$vessel" "${args[@]}" </dev/null >"$work/serial.raw" 2>"$work/stderr"
  status=$?
  elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  tr -d '\r' <"$work/serial.raw" >"$work/serial"
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    problems+=("vessel did not finish within $limit s")
  elif [ "$status" -ne 0 ]; then
    problems+=("vessel exited with status $status (expected 0: guest power-off)")
  fi
  grep -qx 'VESSEL-CMD-EXIT 0' "$work/serial" || problems+=("no 'VESSEL-CMD-EXIT 0' line")
  grep -q '^blk-mount-failed' "$work/serial" &&
    problems+=("mount failed: $(grep '^blk-mount-failed' "$work/serial" | tr '\n' ' ')")
  i=0
  for d in "${disks[@]}"; do
    read -r name opts format <<<"$d"
    grep -qx "blk-known: $name $known_sha" "$work/serial" ||
      problems+=("$name: known.bin's sha256 in the guest is not $known_sha")
    if [[ " ${rw_names[*]} " == *" $name "* ]]; then
      grep -qx "blk-serial: $name vessel-disk$i" "$work/serial" ||
        problems+=("$name: /sys/block/$name/serial is not vessel-disk$i")
      new=$(sed -n "s/^blk-new: $name //p" "$work/serial" | head -n 1)
      if [[ ! "$new" =~ ^[0-9a-f]{64}$ ]]; then
        problems+=("$name: the guest printed no checksum for new.bin")
      else
        grep -qx "blk-reread: $name $new" "$work/serial" ||
          problems+=("$name: new.bin read back with the cache dropped differs")
        host=$(file_sha "$work/$name.img" "$format" /new.bin)
        [ "$host" = "$new" ] ||
          problems+=("$name ($opts): new.bin in the image has sha256 $host, the guest wrote $new")
        host_known=$(file_sha "$work/$name.img" "$format" /known.bin)
        [ "$host_known" = "$known_sha" ] || problems+=("$name: known.bin changed in the image")
      fi
      grep -qx "blk-fstrim: $name 0" "$work/serial" || problems+=("$name: fstrim failed")
      grep -qx "blk-umount: $name ok" "$work/serial" || problems+=("$name: umount failed")
      check_disk_image "$work/$name.img" "$format"
    else
      grep -qx "blk-ro: $name 1" "$work/serial" || problems+=("$name: /sys/block/$name/ro is not 1")
      grep -qE "^blk-ro-touch: $name [1-9]" "$work/serial" ||
        problems+=("$name: creating a file on the read-only disk did not fail")
      grep -qE "^blk-ro-dd: $name [1-9]" "$work/serial" ||
        problems+=("$name: writing the read-only disk with dd did not fail")
      [ "$(sha256sum <"$work/$name.img" | cut -d' ' -f1)" = "$(cat "$work/$name.before")" ] ||
        problems+=("$name: the read-only image changed")
    fi
    i=$((i + 1))
  done
  grep -q 'needs a reset' "$work/stderr" &&
    problems+=("vessel logged a virtio error: $(grep -m1 'needs a reset' "$work/stderr")")
  grep -E '^blk-dmesg: .*(I/O error|EXT4-fs error)' "$work/serial" &&
    problems+=("the guest kernel logged disk errors")
  report all
  grep -E '^blk-(known|new|serial|ro)' "$work/serial"
  echo "PASS: ext4 on virtio-blk under $accel with cache none/writeback/writethrough/unsafe," \
    "aio threads/io_uring, a read-only disk and qcow2 v3/v2 images; images fsck-clean," \
    "qcow2 ones qemu-img-check clean (${elapsed} s)"
  exit 0
fi

# sigkill: the guest never powers off; the host kills vessel once the data is flushed.
make_disk "$work/vda.img" raw
# shellcheck disable=SC2016 # expanded in the guest
guest_cmd='mkdir -p /mnt/vda && mount -t ext4 /dev/vda /mnt/vda || echo blk-mount-failed
head -c 100000 /dev/urandom >/mnt/vda/flushed.bin
echo "blk-flushed-sha: $(sha256sum </mnt/vda/flushed.bin | cut -d" " -f1)"
sync
echo blk-synced
sleep 600'
boot_args "$guest_cmd" --disk "$work/vda.img,format=raw,cache=writeback,aio=io_uring"
echo "running: $vessel ${args[*]}"
"$vessel" "${args[@]}" </dev/null >"$work/serial.raw" 2>"$work/stderr" &
vessel_pid=$!
deadline=$((SECONDS + limit))
while ! tr -d '\r' <"$work/serial.raw" | grep -qx 'blk-synced'; do
  if ! kill -0 "$vessel_pid" 2>/dev/null; then
    problems+=("vessel ended before the guest printed blk-synced")
    break
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    problems+=("no blk-synced line within $limit s")
    break
  fi
  sleep 0.1
done
kill -9 "$vessel_pid" 2>/dev/null
wait "$vessel_pid" 2>/dev/null
vessel_pid=
tr -d '\r' <"$work/serial.raw" >"$work/serial"
report sigkill
want=$(sed -n 's/^blk-flushed-sha: //p' "$work/serial" | head -n 1)
[[ "$want" =~ ^[0-9a-f]{64}$ ]] || problems+=("the guest printed no checksum")
# The file system was not unmounted: replay its journal on a copy first.
cp "$work/vda.img" "$work/vda-replayed.img"
e2fsck -f -y "$work/vda-replayed.img" >"$work/e2fsck.out" 2>&1
rc=$?
[ "$rc" -lt 4 ] || problems+=("e2fsck could not repair the killed image (exit $rc): $(tail -n 3 "$work/e2fsck.out")")
got=$(file_sha "$work/vda-replayed.img" raw /flushed.bin)
[ "$got" = "$want" ] || problems+=("flushed.bin in the image has sha256 $got, the guest wrote $want")
report sigkill
echo "PASS: a file the guest synced survived SIGKILL of vessel (sha256 $want) under $accel"

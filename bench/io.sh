#!/usr/bin/env bash
# Paravirtual I/O benchmark (bench/io_bench.py): sequential disk write and
# read (dd, direct I/O, 1 MiB blocks) and a download over user networking,
# measured inside the guest, vessel beside qemu-system-x86_64 on the same
# accelerator, virtio devices and backends, runs alternating.
#
# Usage: bench/io.sh [BUILD_DIR]        (default build)
# Environment:
#   ACCEL          kvm, or soft/tcg (vessel soft beside qemu tcg). Default: kvm when
#                  `vessel --probe-accel` says "kvm: fast", else soft.
#   BENCH_RUNS     runs per VMM (default 3)
#   BENCH_TIMEOUT  seconds per run (default 600)
#   BENCH_DISK_MIB disk bytes written and read (default 256)
#   BENCH_NET_MIB  download size (default 64)
#   BENCH_CACHE, BENCH_AIO  the disk's cache and aio modes for both VMMs
#                  (default none and threads)
#   BENCH_VMMS     vessel,qemu (default both)
#   BENCH_JSON     also write the results as JSON to this file
#   VESSEL, QEMU, GUEST  the vessel binary, the QEMU binary, the guest asset dir
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/guest-vm.sh
source "$here/guest-vm.sh" "${1:-build}"

exec python3 "$here/io_bench.py" --vessel "$vessel" --qemu "$qemu" \
  --kernel "$guest/vmlinuz" --initrd "$guest/initramfs.cpio.gz" --accel "$accel" \
  --vmms "${BENCH_VMMS:-vessel,qemu}" --runs "${BENCH_RUNS:-3}" \
  --timeout "${BENCH_TIMEOUT:-600}" --disk-mib "${BENCH_DISK_MIB:-256}" \
  --net-mib "${BENCH_NET_MIB:-64}" --cache "${BENCH_CACHE:-none}" --aio "${BENCH_AIO:-threads}" \
  ${BENCH_JSON:+--json "$BENCH_JSON"} --note "qemu: $("$qemu" --version | head -n 1)"

#!/usr/bin/env bash
# CPU-bound work inside the guest (bench/work_bench.py): busybox md5sum and
# sha256sum of a buffer and an awk arithmetic loop, timed by the guest,
# vessel beside qemu-system-x86_64 (q35) on the same accelerator, runs
# alternating; the same steps natively under the host's busybox for reference.
#
# Usage: bench/work.sh [BUILD_DIR]        (default build; `make bench-work` runs it)
# Environment:
#   ACCEL           kvm, or soft/tcg (vessel soft beside qemu tcg). Default: kvm when
#                   `vessel --probe-accel` says "kvm: fast", else soft.
#   BENCH_RUNS      runs per VMM (default 5)
#   BENCH_TIMEOUT   seconds per run (default 600)
#   BENCH_BUFFER_MIB  bytes checksummed (default 32)
#   BENCH_AWK_ITERS   iterations of the awk loop (default 1000000)
#   BENCH_VMMS      vessel,qemu (default both)
#   BENCH_JSON      also write the results as JSON to this file
#   BUSYBOX         the host's busybox for the native figures (default: busybox
#                   on PATH; none: no native figures)
#   VESSEL, QEMU, GUEST  the vessel binary, the QEMU binary, the guest asset dir
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/guest-vm.sh
source "$here/guest-vm.sh" "${1:-build}"
busybox=${BUSYBOX:-$(command -v busybox || true)}
[ "$busybox" = none ] && busybox=

exec python3 "$here/work_bench.py" --vessel "$vessel" --qemu "$qemu" \
  --kernel "$guest/vmlinuz" --initrd "$guest/initramfs.cpio.gz" --accel "$accel" \
  --vmms "${BENCH_VMMS:-vessel,qemu}" --runs "${BENCH_RUNS:-5}" \
  --timeout "${BENCH_TIMEOUT:-600}" --buffer-mib "${BENCH_BUFFER_MIB:-32}" \
  --awk-iters "${BENCH_AWK_ITERS:-1000000}" ${busybox:+--busybox "$busybox"} \
  ${BENCH_JSON:+--json "$BENCH_JSON"} --note "qemu: $("$qemu" --version | head -n 1)"

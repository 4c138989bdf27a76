#!/usr/bin/env bash
# Boot benchmark: vessel (both ways of loading a bzImage) beside
# qemu-system-x86_64 (machine types q35 and microvm) on the same accelerator,
# kernel, initramfs and memory. Reports time to the guest's VESSEL-GUEST-READY
# line (minimum, median), peak RSS, hangs (runs past the timeout), vessel's
# kernel load and host decompression times, and each VMM's memory overhead on
# an idle guest.
#
# Usage: bench/boot.sh [BUILD_DIR]       (default build; `make bench` runs it)
# Environment:
#   ACCEL         kvm, or soft/tcg (vessel soft beside qemu tcg). Default: kvm when
#                 `vessel --probe-accel` says "kvm: fast", else soft.
#   BENCH_RUNS    runs per VMM (default 5)
#   BENCH_TIMEOUT seconds per run before it counts as a hang (default 120);
#                 hangs are counted and the runs go on
#   BENCH_VMMS    which to run, comma-separated, from vessel-direct (the bzImage
#                 payload decompressed on the host, PVH entry), vessel-bzimage
#                 (the kernel's own decompressor), qemu-q35, qemu-microvm;
#                 `vessel` and `qemu` stand for both of theirs (default: all four)
#   BENCH_MEMORY  guest memory for every VMM (default 256M)
#   BENCH_JSON    also write the results as JSON to this file
#   QEMU_CPU      QEMU's -cpu model (default: host under kvm, max under tcg)
#   VESSEL, QEMU, GUEST  the vessel binary, the QEMU binary, the guest asset dir
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-build}
vessel=${VESSEL:-$build/vessel}
qemu=${QEMU:-qemu-system-x86_64}
guest=${GUEST:-$build/guest}
runs=${BENCH_RUNS:-5}
timeout_s=${BENCH_TIMEOUT:-120}
vmms=${BENCH_VMMS:-vessel-direct,vessel-bzimage,qemu-q35,qemu-microvm}
memory=${BENCH_MEMORY:-256M}

for f in "$guest/vmlinuz" "$guest/initramfs.cpio.gz"; do
  [ -f "$f" ] || {
    echo "bench: $f is missing: run 'make assets'" >&2
    exit 1
  }
done
[ -x /usr/bin/time ] || {
  echo "bench: GNU time (/usr/bin/time, Debian package time) is needed" >&2
  exit 1
}
command -v python3 >/dev/null || {
  echo "bench: python3 is needed" >&2
  exit 1
}

notes=()
probe=""
if [ -x "$vessel" ]; then
  probe=$("$vessel" --probe-accel 2>/dev/null || true)
fi

accel=${ACCEL:-}
case "$accel" in
"") if grep -q '^kvm: fast' <<<"$probe"; then accel=kvm; else accel=soft; fi ;;
kvm) ;;
soft | tcg) accel=soft ;;
*)
  echo "bench: ACCEL must be kvm, soft or tcg (not '$accel')" >&2
  exit 1
  ;;
esac

selected=()
vessel_checked="" qemu_checked=""
IFS=, read -r -a wanted <<<"$vmms"
expanded=()
for vmm in "${wanted[@]}"; do
  case "$vmm" in
  vessel) expanded+=(vessel-direct vessel-bzimage) ;;
  qemu) expanded+=(qemu-q35 qemu-microvm) ;;
  *) expanded+=("$vmm") ;;
  esac
done
for vmm in "${expanded[@]}"; do
  case "$vmm" in
  vessel-direct | vessel-bzimage)
    if [ ! -x "$vessel" ]; then
      notes+=("$vmm left out: $vessel is not built")
      continue
    fi
    line=$(grep "^$accel:" <<<"$probe" || true)
    if [ -z "$line" ] || [[ "$line" == *": unavailable"* ]]; then
      # shellcheck disable=SC2016 # the quotes are literal text in a double-quoted string
      notes+=("$vmm left out: ${line:-no '$accel:' line from vessel --probe-accel}")
      continue
    fi
    [ -n "$vessel_checked" ] || notes+=("vessel probe: $line")
    vessel_checked=1
    ;;
  qemu-q35 | qemu-microvm)
    if ! command -v "$qemu" >/dev/null; then
      notes+=("$vmm left out: $qemu not found")
      continue
    fi
    [ -n "$qemu_checked" ] || notes+=("qemu: $("$qemu" --version | head -n 1)")
    qemu_checked=1
    ;;
  *)
    echo "bench: unknown VMM '$vmm' in BENCH_VMMS (vessel-direct, vessel-bzimage, qemu-q35," \
      "qemu-microvm, vessel, qemu)" >&2
    exit 1
    ;;
  esac
  selected+=("$vmm")
done
if [ "${#selected[@]}" -eq 0 ]; then
  printf 'bench: nothing to run (%s)\n' "${notes[*]}" >&2
  exit 1
fi

note_args=()
for n in "${notes[@]}"; do note_args+=(--note "$n"); done
exec python3 "$here/boot_bench.py" --vessel "$vessel" --qemu "$qemu" \
  --kernel "$guest/vmlinuz" --initrd "$guest/initramfs.cpio.gz" --accel "$accel" \
  --vmms "$(
    IFS=,
    echo "${selected[*]}"
  )" --runs "$runs" --timeout "$timeout_s" --memory "$memory" ${BENCH_JSON:+--json "$BENCH_JSON"} \
  ${QEMU_CPU:+--qemu-cpu "$QEMU_CPU"} "${note_args[@]}"

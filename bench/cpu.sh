#!/usr/bin/env bash
# CPU speed benchmark (issues 4 and 8): guest instructions per second of
# vessel's software CPU beside QEMU's TCG, on a hot loop guest and a cold
# straight-code guest (bench/guests), in one run. Prints a table with the
# vessel/QEMU ratios and the targets (hot >= 1.0x QEMU, cold >= 1.0x QEMU).
# Start-up is subtracted: each guest also runs told to do no work.
#
# Usage: bench/cpu.sh [BUILD_DIR]        (default build; `make bench-cpu` runs it)
# Environment:
#   ACCEL         vessel's accelerator: soft (default) or kvm (to check the
#                 plumbing; QEMU always uses tcg)
#   BENCH_RUNS    runs per VMM and guest (default 3)
#   HOT_ITERS     loop iterations of the hot guest, 37 instructions each
#                 (default 50000000)
#   COLD_COPIES   copies of the cold guest's code, 16384 instructions each
#                 (default 64)
#   BENCH_TIMEOUT seconds per run before it counts as a hang (default 600)
#   BENCH_VMMS    which to run, comma-separated (default vessel,qemu)
#   BENCH_MEMORY  guest memory of both VMMs (default 256M; the cold guest
#                 needs 16 MiB + COLD_COPIES x 88 KiB)
#   BENCH_JSON    also write the results as JSON to this file
#   QEMU_CPU      QEMU's -cpu model (default max)
#   VESSEL, QEMU  the vessel binary, the QEMU binary
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-build}
vessel=${VESSEL:-$build/vessel}
qemu=${QEMU:-qemu-system-x86_64}
guests=$build/bench/guests
accel=${ACCEL:-soft}
vmms=${BENCH_VMMS:-vessel,qemu}

case "$accel" in
soft | kvm) ;;
*)
  echo "bench: ACCEL must be soft or kvm (not '$accel')" >&2
  exit 1
  ;;
esac
for f in "$guests/hot.bin" "$guests/cold.bin"; do
  [ -f "$f" ] || {
    echo "bench: $f is missing: build first ('make build', or ninja -C $build)" >&2
    exit 1
  }
done
command -v python3 >/dev/null || {
  echo "bench: python3 is needed" >&2
  exit 1
}

notes=()
selected=()
IFS=, read -r -a wanted <<<"$vmms"
for vmm in "${wanted[@]}"; do
  case "$vmm" in
  vessel)
    if [ ! -x "$vessel" ]; then
      notes+=("vessel left out: $vessel is not built")
      continue
    fi
    probe=$("$vessel" --probe-accel 2>&1 || true)
    line=$(grep "^$accel:" <<<"$probe" || true)
    if [ -z "$line" ] || [[ "$line" == *": unavailable"* ]]; then
      [ -n "$line" ] || line="no $accel: line from vessel --probe-accel"
      msg="vessel --accel $accel is not available here ($line)"
      echo "bench: $msg; measuring QEMU alone" >&2
      notes+=("vessel left out: $msg")
      continue
    fi
    notes+=("vessel probe: $line")
    ;;
  qemu)
    if ! command -v "$qemu" >/dev/null; then
      notes+=("qemu left out: $qemu not found")
      continue
    fi
    notes+=("qemu: $("$qemu" --version | head -n 1)")
    ;;
  *)
    echo "bench: unknown VMM '$vmm' in BENCH_VMMS (vessel, qemu)" >&2
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
exec python3 "$here/cpu_bench.py" --vessel "$vessel" --qemu "$qemu" --guests "$guests" \
  --accel "$accel" --vmms "$(
    IFS=,
    echo "${selected[*]}"
  )" --runs "${BENCH_RUNS:-3}" --hot-iters "${HOT_ITERS:-50000000}" \
  --cold-copies "${COLD_COPIES:-64}" --timeout "${BENCH_TIMEOUT:-600}" \
  --memory "${BENCH_MEMORY:-256M}" \
  --qemu-cpu "${QEMU_CPU:-max}" ${BENCH_JSON:+--json "$BENCH_JSON"} "${note_args[@]}"

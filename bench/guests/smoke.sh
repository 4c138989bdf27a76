#!/bin/sh
# Smoke test of the CPU benchmark guests (ctest bench.cpu.<vmm>): runs
# hot.bin and cold.bin with tiny counts. Each run must exit with status 1 (the
# guest wrote 0 to the debug-exit port) and print
# "BENCH <name> instructions=N ticks=T", and N must grow by the same step for
# each added iteration or copy.
#
# Under QEMU the guests run on TCG with -icount shift=0, where the TSC
# advances by exactly one per instruction: the static counts are right when
# T - N is the same small number in every run (the TSC reads' own glue).
# Under vessel the TSC is not an instruction count and is not checked.
#   smoke-qemu.sh qemu QEMU hot.bin cold.bin
#   smoke-qemu.sh vessel VESSEL soft|kvm hot.bin cold.bin
# Exit status: 0 pass; 77 skip (QEMU missing, or the accelerator is
# unavailable per vessel --probe-accel); 1 fail.
set -u

usage() {
  echo "usage: $0 qemu QEMU hot.bin cold.bin | vessel VESSEL ACCEL hot.bin cold.bin" >&2
  exit 2
}
[ $# -ge 1 ] || usage
vmm=$1
case $vmm in
  qemu)
    [ $# -eq 4 ] || usage
    qemu=$2
    hot=$3
    cold=$4
    if ! command -v "$qemu" >/dev/null 2>&1; then
      echo "SKIP: $qemu not found"
      exit 77
    fi
    ;;
  vessel)
    [ $# -eq 5 ] || usage
    vessel=$2
    accel=$3
    hot=$4
    cold=$5
    if [ ! -x "$vessel" ]; then
      echo "FAIL: vessel binary $vessel is missing or not executable"
      exit 1
    fi
    line=$("$vessel" --probe-accel 2>&1 | grep "^$accel:")
    case $line in
      "" | *unavailable*)
        echo "SKIP: ${line:-vessel --probe-accel does not list $accel}"
        exit 77
        ;;
    esac
    ;;
  *) usage ;;
esac

failed=0
glue=""
# run NAME GUEST CMDLINE: sets $insns (and checks status, line, glue).
run() {
  insns=""
  if [ "$vmm" = qemu ]; then
    output=$(timeout 60 "$qemu" -accel tcg -icount shift=0 -nographic -no-reboot \
      -display none -monitor none -serial stdio -m 64M \
      -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
      -kernel "$2" -append "$3" </dev/null 2>&1)
  else
    output=$(timeout 60 "$vessel" --accel "$accel" --debug-exit --memory 64M \
      --kernel "$2" --cmdline "$3" </dev/null 2>&1)
  fi
  status=$?
  line=$(printf '%s\n' "$output" | tr -d '\r' | grep -a -o "BENCH $1 instructions=[0-9]* ticks=[0-9]*")
  if [ $status -ne 1 ] || [ -z "$line" ]; then
    echo "FAIL: $1 '$3': exit status $status (want 1) or no BENCH line; output:"
    printf '%s\n' "$output" | tail -5
    failed=1
    return
  fi
  echo "$1 '$3': $line"
  insns=${line#*instructions=}
  insns=${insns%% *}
  [ "$vmm" = qemu ] || return
  ticks=${line##*ticks=}
  this_glue=$((ticks - insns))
  if [ "$this_glue" -lt 0 ] || [ "$this_glue" -gt 64 ]; then
    echo "FAIL: $1 '$3': $ticks instructions ran but the guest counted $insns"
    failed=1
    return
  elif [ -n "$glue" ] && [ "$this_glue" -ne "$glue" ]; then
    echo "FAIL: $1 '$3': ticks - instructions = $this_glue, other runs $glue"
    failed=1
    return
  fi
  glue=$this_glue
}

# check_steps NAME A B C: the counts A, B, C of 1, 2, 3 units grow evenly.
check_steps() {
  if [ -z "$2" ] || [ -z "$3" ] || [ -z "$4" ]; then
    return
  fi
  if [ $(($3 - $2)) -le 0 ] || [ $(($3 - $2)) -ne $(($4 - $3)) ]; then
    echo "FAIL: $1: counts $2, $3, $4 do not grow by a constant step"
    failed=1
  fi
}

run hot "$hot" "iters=0"
run hot "$hot" "iters=1000"
a=$insns
run hot "$hot" "iters=2000"
b=$insns
run hot "$hot" "iters=3000"
check_steps hot "$a" "$b" "$insns"

run cold "$cold" "copies=2 run=0"
run cold "$cold" "copies=1"
a=$insns
run cold "$cold" "copies=2"
b=$insns
run cold "$cold" "copies=3"
check_steps cold "$a" "$b" "$insns"

if [ $failed -ne 0 ]; then
  exit 1
fi
if [ "$vmm" = qemu ]; then
  echo "PASS: the benchmark guests count their instructions exactly (TSC glue $glue)"
else
  echo "PASS: the benchmark guests run under vessel --accel $accel"
fi

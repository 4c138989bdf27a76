# Shared set-up of the benchmarks that boot the Linux guest under vessel and
# QEMU side by side (io.sh, work.sh), sourced with the build directory as $1.
# Sets vessel, qemu, guest and accel (ACCEL: kvm, or soft/tcg; default kvm
# when `vessel --probe-accel` says "kvm: fast", else soft), or exits with
# the reason.
build=${1:-build}
vessel=${VESSEL:-$build/vessel}
qemu=${QEMU:-qemu-system-x86_64}
guest=${GUEST:-$build/guest}

for f in "$vessel" "$guest/vmlinuz" "$guest/initramfs.cpio.gz"; do
  [ -e "$f" ] || {
    echo "bench: $f is missing: run 'make build assets'" >&2
    exit 1
  }
done
command -v "$qemu" >/dev/null || {
  echo "bench: $qemu not found (Debian package qemu-system-x86)" >&2
  exit 1
}
accel=${ACCEL:-}
case "$accel" in
"") if "$vessel" --probe-accel 2>/dev/null | grep -q '^kvm: fast'; then accel=kvm; else accel=soft; fi ;;
kvm) ;;
soft | tcg) accel=soft ;;
*)
  echo "bench: ACCEL must be kvm, soft or tcg (not '$accel')" >&2
  exit 1
  ;;
esac

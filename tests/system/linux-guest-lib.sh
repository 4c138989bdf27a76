# shellcheck shell=bash
# Shared by the system tests that boot the Debian guest (linux-boot.sh,
# idle-cpu.sh, virtio-rng.sh); sourced, not run. Needs bash.
#
#   guest_test_args "$@"             the scripts' arguments VESSEL ASSET_DIR
#                                    kvm|soft: sets vessel, assets, accel and
#                                    limit (boot time limit, VESSEL_BOOT_TIMEOUT),
#                                    skips or fails as require_accel and
#                                    require_assets do
#   fail MESSAGE...                  print "FAIL: MESSAGE" and exit 1
#   require_accel VESSEL ACCEL       exit 77 (skip) when ACCEL cannot run here:
#                                    KVM must be "fast", soft must be built
#   require_assets ASSET_DIR         fail unless vmlinuz and initramfs.cpio.gz exist
#   platform_check_command           the shell command (for vessel.cmd64=) that
#                                    prints what check_platform_output checks
#   check_platform_output FILE       appends to the array `problems` one line per
#                                    failed check of the guest's serial output:
#                                    kvm-clock, no timer/APIC/interrupt errors in
#                                    dmesg or /proc/interrupts, local APIC timer
#                                    interrupts counted, hypervisor flag, lscpu,
#                                    PCI: the host bridge enumerated through ECAM

fail() {
  echo "FAIL: $*"
  exit 1
}

# find_vesselctl: sets ctl to the vesselctl built beside $vessel (fails the test without one).
find_vesselctl() {
  ctl=$(dirname "$vessel")/vesselctl
  [ -x "$ctl" ] || fail "vesselctl not found beside $vessel"
}

guest_test_args() {
  if [ "$#" -ne 3 ]; then
    echo "usage: $0 VESSEL ASSET_DIR kvm|soft" >&2
    exit 2
  fi
  vessel=$1
  assets=$2
  accel=$3
  require_accel "$vessel" "$accel"
  case "$accel" in
  kvm) limit=${VESSEL_BOOT_TIMEOUT:-60} ;;
  soft) limit=${VESSEL_BOOT_TIMEOUT:-300} ;;
  *) fail "unknown accelerator '$accel'" ;;
  esac
  require_assets "$assets"
}

require_accel() {
  local vessel=$1 accel=$2 probe line
  [ -x "$vessel" ] || fail "vessel binary $vessel not found"
  probe=$("$vessel" --probe-accel 2>&1) || fail "vessel --probe-accel exited with status $?: $probe"
  echo "$probe"
  line=$(grep "^$accel:" <<<"$probe" | head -n 1)
  [ -n "$line" ] || fail "vessel --probe-accel printed no '$accel:' line"
  case "$accel" in
  kvm)
    [[ "$line" == "kvm: fast"* ]] || {
      echo "SKIP: KVM is not fast here ($line)"
      exit 77
    }
    ;;
  soft)
    [[ "$line" != "soft: unavailable"* ]] || {
      echo "SKIP: no software CPU ($line)"
      exit 77
    }
    ;;
  *) fail "unknown accelerator '$accel' (kvm or soft)" ;;
  esac
}

require_assets() {
  local f
  for f in "$1/vmlinuz" "$1/initramfs.cpio.gz"; do
    [ -f "$f" ] || fail "guest asset $f is missing: run 'make assets' (scripts/build-guest-assets.sh $1)"
  done
}

# Kernel messages that mean the timers or the interrupt controllers misbehave
# (extended regular expression, matched without case). From arch/x86/kernel/
# apic/apic.c and io_apic.c (APIC timer calibration and verification, the IOAPIC
# timer check and its fallbacks), tsc.c and kernel/time/clocksource.c (TSC or
# clocksource marked unstable, failed calibration), irq handling (interrupts
# nobody handles or that arrive on a vector with no handler), i8259.c.
timer_error_re="APIC calibration not consistent|APIC frequency too slow|APIC timer disabled"
timer_error_re+="|timer doesn.t work|MP-BIOS bug|8254 timer not connected|trying to set up timer"
timer_error_re+="|unstable|calibration failed|unable to calibrate|calibration deviates"
timer_error_re+="|APIC error|local APIC disabled|TSC_DEADLINE disabled"
timer_error_re+="|spurious (8259A|APIC) interrupt|No irq handler for vector|nobody cared"
# Kernel oopses and warnings (matched with case).
kernel_error_re='\] (BUG|WARNING)[: ]|Oops|Kernel panic|general protection fault'

# Each line the guest prints for the checks starts with a tag ("dmesg: ",
# "lscpu: ", ...), so kernel messages on the console cannot be mistaken for them.
platform_check_command() {
  cat <<EOF
dmesg >/tmp/dmesg; echo "dmesg-lines: \$(wc -l </tmp/dmesg)"
grep -iE 'clocksource|kvm-clock' /tmp/dmesg | sed 's/^/dmesg: /'
echo "current-clocksource: \$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
grep -iE '$timer_error_re' /tmp/dmesg | sed 's/^/timer-error: /'
grep -E '$kernel_error_re' /tmp/dmesg | sed 's/^/kernel-error: /'
grep -E '^ *(LOC|SPU|ERR|MIS):' /proc/interrupts | sed 's/^ */interrupts: /'
grep -m1 '^flags' /proc/cpuinfo | sed 's/^/cpuinfo: /'
lscpu >/tmp/lscpu 2>&1; echo "lscpu-exit: \$?"; sed 's/^/lscpu: /' /tmp/lscpu
grep -E 'PCI|pci |MMCONFIG|ECAM|PNP0A0|PCI0' /tmp/dmesg | sed 's/^/pci-dmesg: /'
sed 's/^/pci-devices: /' /proc/bus/pci/devices
echo "pci-config-bytes: \$(wc -c </sys/bus/pci/devices/0000:00:00.0/config)"
echo checks-done
EOF
}

# interrupt_count TAG FILE: the sum of the counts on the "interrupts: TAG:" line.
interrupt_count() {
  awk -v tag="$1:" '$1 == "interrupts:" && $2 == tag {
    n = 0
    for (i = 3; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i
    print n
    exit
  }' "$2"
}

check_platform_output() {
  local out=$1 n line
  if ! grep -qx 'checks-done' "$out"; then
    problems+=("the guest's check commands did not finish (no checks-done line)")
    return 0
  fi
  n=$(sed -n 's/^dmesg-lines: *\([0-9][0-9]*\)$/\1/p' "$out" | head -n 1)
  [ -n "$n" ] && [ "$n" -ge 50 ] ||
    problems+=("dmesg in the guest printed ${n:-no} lines (expected the boot log, 50 or more)")
  grep -q '^dmesg: .*clocksource: Switched to clocksource kvm-clock' "$out" ||
    problems+=("dmesg does not show 'clocksource: Switched to clocksource kvm-clock'")
  while IFS= read -r line; do
    problems+=("timer/APIC error in dmesg: ${line#timer-error: }")
  done < <(grep '^timer-error: ' "$out")
  while IFS= read -r line; do
    problems+=("kernel error in dmesg: ${line#kernel-error: }")
  done < <(grep '^kernel-error: ' "$out")
  # /proc/interrupts: LOC counts local APIC timer interrupts (all CPUs), ERR
  # the APIC error interrupts, MIS the IOAPIC's mis-delivered level interrupts.
  n=$(interrupt_count LOC "$out")
  [ -n "$n" ] && [ "$n" -gt 0 ] ||
    problems+=("no local APIC timer interrupts in /proc/interrupts (LOC: ${n:-no line})")
  n=$(interrupt_count ERR "$out")
  [ "$n" = 0 ] || problems+=("/proc/interrupts: ERR (APIC error interrupts) is ${n:-missing}, expected 0")
  n=$(interrupt_count MIS "$out")
  [ "$n" = 0 ] || problems+=("/proc/interrupts: MIS (mis-delivered IOAPIC interrupts) is ${n:-missing}, expected 0")
  grep -q '^cpuinfo: flags.*[[:space:]]hypervisor\([[:space:]]\|$\)' "$out" ||
    problems+=("/proc/cpuinfo has no 'hypervisor' flag")
  grep -qx 'lscpu-exit: 0' "$out" ||
    problems+=("lscpu failed in the guest ($(grep -m1 '^lscpu-exit: ' "$out" || echo 'no exit status'))")
  grep -q '^lscpu: Hypervisor vendor: *KVM$' "$out" ||
    problems+=("lscpu does not say 'Hypervisor vendor: KVM' ($(grep -m1 '^lscpu: Hypervisor vendor:' "$out" || echo 'no such line'))")
  # PCI: the host bridge (1b36:0008 at 00:00.0) found through the ACPI root
  # bridge, ECAM (from MCFG) in use: Linux reads 4 KiB of the host bridge's
  # config space only when extended config space works.
  grep -q '^pci-dmesg: .*PCI host bridge to bus 0000:00' "$out" ||
    problems+=("dmesg does not show 'PCI host bridge to bus 0000:00'")
  grep -q '^pci-dmesg: .*MMCONFIG for domain 0000 \[bus 00-00\] at \[mem 0xe0000000-0xe00fffff\]' "$out" ||
    problems+=("dmesg does not show the MMCONFIG (ECAM) window from MCFG")
  while IFS= read -r line; do
    problems+=("PCI error in dmesg: ${line#pci-dmesg: }")
  done < <(grep -E '^pci-dmesg: .*(Fatal|not reserved|not using MMCONFIG|fail to add MMCONFIG|can.t claim|BAR [0-9]+: no space)' "$out")
  grep -qE '^pci-devices: 0000[[:space:]]+1b360008' "$out" ||
    problems+=("/proc/bus/pci/devices has no host bridge 1b36:0008 at 00:00.0")
  grep -qx 'pci-config-bytes: 4096' "$out" ||
    problems+=("the host bridge's config space is not 4096 bytes ($(grep -m1 '^pci-config-bytes:' "$out" || echo 'no such line')): ECAM not in use")
}

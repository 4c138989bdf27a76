#!/usr/bin/env python3
"""CPU-bound work inside the guest: vessel beside qemu-system-x86_64 (run by bench/work.sh).

Both VMMs boot the same Linux guest on the same accelerator (vessel soft beside
QEMU TCG q35, or KVM beside KVM) with the same memory. The guest's init runs
busybox tools on a buffer of random bytes in its RAM file system and times
each step itself (/proc/uptime before and after, 10 ms steps):

  md5      md5sum of the buffer
  sha256   sha256sum of the buffer
  awk      an arithmetic loop in awk (N iterations of s += i * i % 7)

Where the host has busybox (BUSYBOX, or `busybox` on PATH), the same steps run
natively too, for reference. Runs alternate between the VMMs; figures are
medians in seconds, and the ratio is vessel / QEMU (below 1: vessel is faster).
"""

import argparse
import base64
import json
import statistics
import subprocess
import sys
import time

from io_bench import guest_argv, run_once

STEPS = ("md5", "sha256", "awk")


def step_commands(buffer_mib, awk_iters):
    awk = f"awk 'BEGIN {{ s = 0; for (i = 0; i < {awk_iters}; i++) s += i * i % 7; print s }}'"
    return {
        "md5": "md5sum /tmp/buf",
        "sha256": "sha256sum /tmp/buf",
        "awk": awk,
    }


def guest_command(buffer_mib, awk_iters):
    lines = [f"dd if=/dev/urandom of=/tmp/buf bs=1M count={buffer_mib} 2>/dev/null"]
    for step, cmd in step_commands(buffer_mib, awk_iters).items():
        lines += [
            "t0=$(cut -d' ' -f1 /proc/uptime)",
            f"{cmd} >/dev/null",
            "t1=$(cut -d' ' -f1 /proc/uptime)",
            f"echo IO-MARK {step} $t0 $t1",
        ]
    lines.append("echo IO-MARK done")
    return "\n".join(lines)


def native(busybox, buffer_mib, awk_iters):
    """The steps under the host's busybox: {step: seconds}."""
    import tempfile
    out = {}
    with tempfile.NamedTemporaryFile(prefix="vessel-work-") as buf:
        buf.write(open("/dev/urandom", "rb").read(buffer_mib << 20))
        buf.flush()
        for step, cmd in step_commands(buffer_mib, awk_iters).items():
            cmd = cmd.replace("/tmp/buf", buf.name)
            start = time.monotonic()
            subprocess.run([busybox, "sh", "-c", f"{cmd} >/dev/null"], check=True)
            out[step] = time.monotonic() - start
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--vessel", required=True)
    p.add_argument("--qemu", required=True)
    p.add_argument("--kernel", required=True)
    p.add_argument("--initrd", required=True)
    p.add_argument("--accel", choices=("kvm", "soft"), required=True)
    p.add_argument("--vmms", default="vessel,qemu")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--memory", default="512M")
    p.add_argument("--buffer-mib", type=int, default=32)
    p.add_argument("--awk-iters", type=int, default=1000000)
    p.add_argument("--busybox")
    p.add_argument("--json")
    p.add_argument("--note", action="append", default=[])
    args = p.parse_args()
    vmms = args.vmms.split(",")

    cmd64 = base64.b64encode(guest_command(args.buffer_mib, args.awk_iters).encode()).decode()
    cmdline = f"console=ttyS0 quiet panic=-1 vessel.cmd64={cmd64}"
    results = {vmm: {step: [] for step in STEPS} for vmm in vmms}
    failures = []
    for run in range(args.runs):
        for vmm in vmms:
            marks, status, hung, tail = run_once(guest_argv(vmm, args, cmdline), args.timeout)
            got = []
            for step in STEPS:
                try:
                    t0, t1 = (float(x) for x in marks.get(step, "").split())
                except ValueError:
                    continue
                results[vmm][step].append(t1 - t0)
                got.append(f"{step} {t1 - t0:.2f} s")
            why = "hung" if hung else f"exit {status}"
            print(f"run {run + 1} {vmm}: {', '.join(got) or 'no figures'} ({why})",
                  file=sys.stderr)
            if len(got) < len(STEPS) or "done" not in marks or hung or status != 0:
                failures.append(f"{vmm} run {run + 1}: {why}, marks {sorted(marks)}\n{tail}")

    print(f"Guest CPU work, accel {args.accel}, {args.runs} runs, buffer {args.buffer_mib} MiB, "
          f"awk {args.awk_iters} iterations; guest-timed medians in seconds")
    for n in args.note:
        print(f"  note: {n}")
    print(f"{'':10}" + "".join(f"{step:>10}" for step in STEPS))
    med = {}
    for vmm in vmms:
        med[vmm] = {s: statistics.median(v) if v else None for s, v in results[vmm].items()}
        print(f"{vmm:10}" + "".join(
            f"{med[vmm][s]:10.2f}" if med[vmm][s] else f"{'-':>10}" for s in STEPS))
    if args.busybox:
        nat = native(args.busybox, args.buffer_mib, args.awk_iters)
        med["native"] = nat
        print(f"{'native':10}" + "".join(f"{nat[s]:10.2f}" for s in STEPS))
    if "vessel" in med and "qemu" in med:
        ratios = {s: (med["vessel"][s] / med["qemu"][s]
                      if med["vessel"][s] and med["qemu"][s] else None) for s in STEPS}
        print(f"{'ratio':10}" + "".join(
            f"{ratios[s]:9.2f}x" if ratios[s] else f"{'-':>10}" for s in STEPS)
              + "   (vessel time / QEMU time: below 1.0 is faster)")
    if "vessel" in med and "native" in med:
        print(f"{'/native':10}" + "".join(
            f"{med['vessel'][s] / med['native'][s]:9.1f}x" if med["vessel"][s] else f"{'-':>10}"
            for s in STEPS) + "   (vessel time / native time)")
    for f in failures:
        print(f"FAILED: {f}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": results, "median": med, "failures": failures}, f, indent=1)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

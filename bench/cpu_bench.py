#!/usr/bin/env python3
"""CPU speed benchmark: vessel beside qemu-system-x86_64 -accel tcg (run by bench/cpu.sh).

Two guests (bench/guests): hot, a loop mix run iters=N times, and cold, a
long straight run of distinct code run once per copy (copies=N). Each prints
"BENCH <name> instructions=N ticks=T", N being the exact number of
instructions of its measured part, and exits through the debug-exit port.

For each VMM and guest, R rounds of two runs: the work run, and the start-up
run, the same guest told to do no work (iters=0; copies=N run=0, which still
copies the code), which boots, sets up and exits at once. A run's time is the
wall time of the VMM process. The work's time is median(work) -
median(start-up); its instructions are N(work) - N(start-up); their ratio is
the speed in M instructions/s. Prints a table, the vessel/QEMU ratios and the
targets (issue 8: both at least as fast as QEMU, hot >= 1.0x and cold >= 1.0x).
"""

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time

BENCH_LINE = re.compile(rb"BENCH (\w+) instructions=(\d+) ticks=(\d+)")
TARGETS = {"hot": 1.0, "cold": 1.0}
# A work time below this share of the start-up time is mostly noise.
MIN_WORK_SHARE = 0.5


class Failure(Exception):
    pass


def run_guest(argv, name, timeout_s):
    """Runs one VMM process; returns (seconds, instructions) or raises Failure."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise Failure(f"no exit after {timeout_s:.0f} s (BENCH_TIMEOUT); output tail: "
                      f"{out[-400:].decode('utf-8', 'replace')!r}")
    seconds = time.monotonic() - start
    match = BENCH_LINE.search(out)
    if proc.returncode != 1 or not match or match.group(1).decode() != name:
        raise Failure(f"exit status {proc.returncode} (want 1: the guest writes 0 to the "
                      f"debug-exit port){'' if match else ', no BENCH line'}; output tail: "
                      f"{out[-400:].decode('utf-8', 'replace')!r}")
    return seconds, int(match.group(2))


def fmt_mips(mips):
    return f"{mips:.1f}" if mips >= 1 else f"{mips:.3f}"


def vmm_argv(vmm, args, kernel, cmdline):
    if vmm == "vessel":
        return [args.vessel, "--accel", args.accel, "--debug-exit", "--memory", args.memory,
                "--kernel", kernel, "--cmdline", cmdline]
    return [args.qemu, "-accel", "tcg", "-cpu", args.qemu_cpu, "-m", args.memory,
            "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-kernel", kernel, "-append", cmdline]


def measure(vmm, bench, args):
    """Runs the work and start-up runs of one guest; returns a result dict."""
    kernel = os.path.join(args.guests, f"{bench}.bin")
    if bench == "hot":
        work_cmd, base_cmd = f"iters={args.hot_iters}", "iters=0"
    else:
        work_cmd, base_cmd = f"copies={args.cold_copies}", f"copies={args.cold_copies} run=0"
    work, base = [], []
    insns = None
    for i in range(args.runs):
        for kind, cmd, times in (("start-up", base_cmd, base), ("work", work_cmd, work)):
            try:
                seconds, n = run_guest(vmm_argv(vmm, args, kernel, cmd), bench, args.timeout)
            except Failure as e:
                return {"error": f"{kind} run '{cmd}': {e}"}
            times.append(seconds)
            if kind == "start-up":
                base_insns = n
            else:
                insns = n - base_insns
            print(f"  {vmm:<7}{bench:<5} run {i + 1} {kind:<9}'{cmd}': {seconds:.3f} s, "
                  f"{n} instructions", flush=True)
    work_s = statistics.median(work) - statistics.median(base)
    res = {"instructions": insns, "work_median_s": statistics.median(work),
           "startup_median_s": statistics.median(base), "time_s": work_s,
           "work_runs_s": work, "startup_runs_s": base}
    if work_s <= 0:
        res["error"] = "the work took no measurable time beyond start-up: raise the count"
    else:
        res["mips"] = insns / work_s / 1e6
        if work_s < MIN_WORK_SHARE * res["startup_median_s"]:
            res["warning"] = "work time is small beside start-up: the figure is noisy"
    return res


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--vessel", required=True)
    p.add_argument("--qemu", default="qemu-system-x86_64")
    p.add_argument("--guests", required=True, help="folder holding hot.bin and cold.bin")
    p.add_argument("--accel", default="soft", choices=["soft", "kvm"])
    p.add_argument("--vmms", default="vessel,qemu")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--hot-iters", type=int, default=50_000_000)
    p.add_argument("--cold-copies", type=int, default=64)
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--memory", default="256M")
    p.add_argument("--qemu-cpu", default="max")
    p.add_argument("--json")
    p.add_argument("--note", action="append", default=[])
    args = p.parse_args()
    if args.runs < 1 or args.hot_iters < 1 or args.cold_copies < 1:
        p.error("--runs, --hot-iters and --cold-copies must be at least 1")

    vmms = [v for v in args.vmms.split(",") if v]
    print(f"CPU benchmark: vessel --accel {args.accel} beside qemu -accel tcg "
          f"(-cpu {args.qemu_cpu}), memory {args.memory}, {args.runs} runs each\n"
          f"  hot: iters={args.hot_iters}; cold: copies={args.cold_copies}; "
          f"guests in {args.guests}")
    for note in args.note:
        print(f"  note: {note}")
    sys.stdout.flush()

    results = {vmm: {bench: measure(vmm, bench, args) for bench in ("hot", "cold")}
               for vmm in vmms}

    print()
    print("time: median work run - median start-up run (same guest, no work); "
          "M instr/s = instructions / time")
    print(f"{'guest':<6}{'VMM':<8}{'instructions':>14}{'work (s)':>10}{'start-up (s)':>14}"
          f"{'time (s)':>10}{'M instr/s':>11}")
    for bench in ("hot", "cold"):
        for vmm in vmms:
            r = results[vmm][bench]
            if "mips" not in r:
                print(f"{bench:<6}{vmm:<8}  FAILED: {r['error']}")
                continue
            print(f"{bench:<6}{vmm:<8}{r['instructions']:>14}{r['work_median_s']:>10.3f}"
                  f"{r['startup_median_s']:>14.3f}{r['time_s']:>10.3f}{fmt_mips(r['mips']):>11}"
                  + (f"  ({r['warning']})" if "warning" in r else ""))
    print()
    ratios = {}
    for bench in ("hot", "cold"):
        v = results.get("vessel", {}).get(bench, {})
        q = results.get("qemu", {}).get(bench, {})
        target = TARGETS[bench]
        if "mips" in v and "mips" in q:
            ratio = v["mips"] / q["mips"]
            ratios[bench] = ratio
            verdict = "met" if ratio >= target else "NOT met"
            if args.accel != "soft":
                verdict = f"n/a: vessel ran on {args.accel}, the targets are for soft"
            print(f"ratio vessel/qemu {bench:<5}{ratio:8.3f}x   target >= {target}x: {verdict}")
        else:
            print(f"ratio vessel/qemu {bench:<5}       -   target >= {target}x: "
                  "not measured (no vessel or no QEMU figure)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"accel": args.accel, "runs": args.runs, "hot_iters": args.hot_iters,
                       "cold_copies": args.cold_copies, "results": results,
                       "ratios": ratios}, f, indent=2)
    failed = any("mips" not in r for per_vmm in results.values() for r in per_vmm.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

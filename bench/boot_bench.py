#!/usr/bin/env python3
"""Whole-VM boot benchmark: vessel beside qemu-system-x86_64 (run by bench/boot.sh).

VMMs: vessel-direct (the bzImage's payload decompressed on the host, entered
through PVH), vessel-bzimage (the kernel's own decompressor), qemu-q35 and
qemu-microvm. For each, N runs of the Linux guest with vessel.poweroff=1: wall
time from process start to the VESSEL-GUEST-READY line on the serial console
(streamed and timestamped as it arrives), time to process exit, peak RSS (GNU
time), and for vessel its own kernel load and host decompression times (from
its -v log). A run that passes the timeout is a hang: it is killed, counted,
and the runs go on; a run that ends without the ready line stops that VMM's
runs (it would fail the same way again). Then each VMM's memory overhead
beyond guest RAM: peak RSS while running a tiny multiboot guest that touches
no memory and exits at once through the debug-exit port. Prints a table;
optionally writes JSON.
"""

import argparse
import json
import os
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time

READY = b"VESSEL-GUEST-READY"
VMMS = ("vessel-direct", "vessel-bzimage", "qemu-q35", "qemu-microvm")
# vessel -v: "kernel: lz4 (legacy frame) payload decompressed on the host in 158.4 ms (...)"
# and "kernel: '...' loaded as ... in 249.1 ms (...)".
DECOMPRESS_RE = re.compile(rb"kernel: [^\n]* payload decompressed on the host in ([0-9.]+) ms")
LOAD_RE = re.compile(rb"kernel: '[^']*' loaded as .* in ([0-9.]+) ms")


class Run:
    def __init__(self, ready_s, exit_s, status, peak_rss_kb, hung, tail, head):
        self.ready_s = ready_s  # None when the ready line never came
        self.exit_s = exit_s
        self.status = status
        self.peak_rss_kb = peak_rss_kb
        self.hung = hung
        self.tail = tail
        self.decompress_ms = first_float(DECOMPRESS_RE, head)
        self.load_ms = first_float(LOAD_RE, head)


def first_float(regex, text):
    m = regex.search(text)
    return float(m.group(1)) if m else None


def run_once(argv, timeout_s, ready_token=READY):
    """Starts argv, streams its stdout looking for ready_token, waits for exit.

    The peak RSS comes from GNU time wrapped around the VMM, not from our own
    wait4(): a child forked from this Python process keeps Python's resident
    size as its ru_maxrss high-water mark across exec, which would hide a
    VMM smaller than the interpreter."""
    rss_file = tempfile.NamedTemporaryFile(prefix="vessel-bench-rss-", delete=False)
    rss_file.close()
    start = time.monotonic()
    proc = subprocess.Popen(["/usr/bin/time", "-q", "-f", "%M", "-o", rss_file.name, "--"] + argv,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    fd = proc.stdout.fileno()
    buf = b""
    head = b""  # the first 64 KiB: vessel's log lines about the kernel load
    ready_s = None
    hung = False
    deadline = start + timeout_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            hung = True
            break
        readable, _, _ = select.select([fd], [], [], left)
        if not readable:
            continue
        chunk = os.read(fd, 65536)
        now = time.monotonic()
        if not chunk:
            break
        buf += chunk
        if len(head) < 65536:
            head += chunk[:65536 - len(head)]
        if ready_s is None and ready_token and ready_token in buf:
            ready_s = now - start
        buf = buf[-65536:]
    if hung:
        os.killpg(proc.pid, signal.SIGKILL)
    _, wait_status, _ = os.wait4(proc.pid, 0)
    exit_s = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(wait_status)
    proc.stdout.close()
    tail = buf[-2000:].decode("utf-8", "replace")
    peak_rss_kb = None
    with open(rss_file.name) as f:
        for line in f:  # GNU time notes a signal-killed child on a line of its own
            if line.strip().isdigit():
                peak_rss_kb = int(line)
    os.unlink(rss_file.name)
    return Run(ready_s, exit_s, proc.returncode, peak_rss_kb, hung, tail, head)


def multiboot_idle_guest(path):
    """A multiboot v1 image loaded at 1 MiB whose code writes 0 to port 0xF4
    (debug exit) and halts: it touches no guest memory beyond its 40 bytes."""
    magic, flags, load = 0x1BADB002, 0x00010000, 0x100000
    header = struct.pack("<8I", magic, flags, (-(magic + flags)) & 0xFFFFFFFF,
                         load, load, 0, 0, load + 32)
    code = bytes([0xB0, 0x00, 0xE6, 0xF4, 0xFA, 0xF4, 0xEB, 0xFD])
    with open(path, "wb") as f:
        f.write(header + code)


def vmm_argv(vmm, args, accel, kernel, initrd, cmdline, idle):
    if vmm.startswith("vessel-"):
        argv = [args.vessel, "--accel", "kvm" if accel == "kvm" else "soft",
                "--memory", args.memory, "--kernel", kernel]
        if idle:
            return argv + ["--debug-exit"]
        return argv + ["--kernel-format", vmm.removeprefix("vessel-"), "-v", "--initrd", initrd,
                       "--cmdline", cmdline]
    machine = vmm.removeprefix("qemu-")
    argv = [args.qemu, "-machine", machine, "-accel", "kvm" if accel == "kvm" else "tcg",
            "-cpu", args.qemu_cpu or ("host" if accel == "kvm" else "max"), "-m", args.memory,
            "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
            "-kernel", kernel]
    if idle:
        return argv + ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    return argv + ["-initrd", initrd, "-append", cmdline]


def fmt_s(v):
    return "-" if v is None else f"{v:.3f}"


def fmt_mb(kb):
    return "-" if kb is None else f"{kb / 1024:.1f}"


def fmt_ms(v):
    return "-" if v is None else f"{v:.0f}"


def summarize(runs):
    ok = [r for r in runs if r.ready_s is not None and not r.hung]
    res = {"runs": len(runs), "ok": len(ok), "hangs": sum(r.hung for r in runs)}
    for key in ("load_ms", "decompress_ms"):
        values = [getattr(r, key) for r in runs if getattr(r, key) is not None]
        if values:
            res[key + "_median"] = statistics.median(values)
    if ok:
        ready = [r.ready_s for r in ok]
        exits = [r.exit_s for r in ok]
        rss = [r.peak_rss_kb for r in ok]
        res.update(ready_min_s=min(ready), ready_median_s=statistics.median(ready),
                   exit_median_s=statistics.median(exits), rss_min_kb=min(rss),
                   rss_median_kb=statistics.median(rss))
    return res


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--vessel", required=True)
    p.add_argument("--qemu", default="qemu-system-x86_64")
    p.add_argument("--kernel", required=True)
    p.add_argument("--initrd", required=True)
    p.add_argument("--accel", required=True, choices=["kvm", "soft"])
    p.add_argument("--vmms", default=",".join(VMMS))
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--memory", default="256M")
    p.add_argument("--qemu-cpu", help="QEMU -cpu model (default: host under kvm, max under tcg)")
    p.add_argument("--json")
    p.add_argument("--note", action="append", default=[])
    args = p.parse_args()

    cmdline = "console=ttyS0 quiet panic=-1 vessel.poweroff=1"
    vmms = [v for v in args.vmms.split(",") if v]
    for v in vmms:
        if v not in VMMS:
            p.error(f"unknown VMM '{v}' (one of {', '.join(VMMS)})")
    names = {v: v for v in VMMS}
    accel_name = {"kvm": "kvm", "soft": "soft (vessel) / tcg (qemu)"}[args.accel]
    print(f"boot benchmark: accel {accel_name}, memory {args.memory}, {args.runs} runs each, "
          f"timeout {args.timeout:.0f} s per run")
    print(f"  kernel {args.kernel}\n  initrd {args.initrd}\n  cmdline '{cmdline}'")
    for note in args.note:
        print(f"  note: {note}")
    sys.stdout.flush()

    results = {}
    with tempfile.TemporaryDirectory(prefix="vessel-bench.") as tmp:
        idle = os.path.join(tmp, "idle-multiboot.bin")
        multiboot_idle_guest(idle)
        # Runs interleave (run 1 of every VMM, then run 2, ...) so that a
        # slow spell of a noisy host does not land on one VMM only.
        runs = {vmm: [] for vmm in vmms}
        stopped = set()
        for i in range(args.runs):
            for vmm in vmms:
                if vmm in stopped:
                    continue
                r = run_once(vmm_argv(vmm, args, args.accel, args.kernel, args.initrd,
                                      cmdline, False), args.timeout)
                runs[vmm].append(r)
                state = ("HANG" if r.hung else "ok" if r.ready_s is not None and r.status == 0
                         else f"status {r.status}" + ("" if r.ready_s else ", no ready line"))
                load = ""
                if r.load_ms is not None:
                    load = f", kernel load {r.load_ms:.1f} ms"
                if r.decompress_ms is not None:
                    load += f" (host decompression {r.decompress_ms:.1f} ms)"
                print(f"  {names[vmm]:<14} run {i + 1}: ready {fmt_s(r.ready_s)} s, "
                      f"exit {r.exit_s:.3f} s, peak RSS {fmt_mb(r.peak_rss_kb)} MiB{load} "
                      f"({state})")
                sys.stdout.flush()
                if r.ready_s is None:
                    print(f"    output tail: {r.tail[-600:]!r}")
                if r.ready_s is None and not r.hung:
                    print(f"    stopping {names[vmm]} runs after a failed run")
                    stopped.add(vmm)
        for vmm in vmms:
            # The idle guest: exits through debug-exit with status 1 (value 0).
            r = run_once(vmm_argv(vmm, args, args.accel, idle, None, None, True),
                         min(args.timeout, 30), ready_token=None)
            idle_ok = not r.hung and r.status == 1
            if not idle_ok:
                print(f"  {names[vmm]:<14} idle guest: status {r.status}"
                      f"{', HANG' if r.hung else ''}: {r.tail[-300:]!r}")
            res = summarize(runs[vmm])
            res["idle_rss_kb"] = r.peak_rss_kb if idle_ok else None
            res["idle_exit_s"] = r.exit_s if idle_ok else None
            results[vmm] = res

    print()
    print(f"{'VMM':<15}{'ok/runs':>8}{'hangs':>6}{'ready min':>11}{'ready med':>11}"
          f"{'exit med':>10}{'RSS min':>9}{'RSS med':>9}{'idle RSS':>9}{'idle exit':>10}"
          f"{'load':>7}{'decomp':>7}")
    print(f"{'':<15}{'':>8}{'':>6}{'(s)':>11}{'(s)':>11}{'(s)':>10}{'(MiB)':>9}{'(MiB)':>9}"
          f"{'(MiB)':>9}{'(s)':>10}{'(ms)':>7}{'(ms)':>7}")
    for vmm, r in results.items():
        print(f"{names[vmm]:<15}{str(r['ok']) + '/' + str(r['runs']):>8}{r['hangs']:>6}"
              f"{fmt_s(r.get('ready_min_s')):>11}{fmt_s(r.get('ready_median_s')):>11}"
              f"{fmt_s(r.get('exit_median_s')):>10}{fmt_mb(r.get('rss_min_kb')):>9}"
              f"{fmt_mb(r.get('rss_median_kb')):>9}{fmt_mb(r.get('idle_rss_kb')):>9}"
              f"{fmt_s(r.get('idle_exit_s')):>10}{fmt_ms(r.get('load_ms_median')):>7}"
              f"{fmt_ms(r.get('decompress_ms_median')):>7}")
    q = results.get("qemu-q35")
    for name in ("vessel-direct", "vessel-bzimage"):
        v = results.get(name)
        if v and q:
            def ratio(key):
                a, b = v.get(key), q.get(key)
                return f"{a / b:.2f}" if a and b else "-"
            print(f"ratio {name}/qemu-q35: ready median {ratio('ready_median_s')}, "
                  f"peak RSS median {ratio('rss_median_kb')}, idle RSS {ratio('idle_rss_kb')}")
    print("(ready: process start to the VESSEL-GUEST-READY line; hangs: runs killed at the "
          f"{args.timeout:g} s timeout;\n RSS: peak resident set of the VMM process; idle: a "
          "multiboot guest that touches no memory, so its RSS is\n the VMM's own overhead; "
          "load, decomp: vessel's kernel load and host decompression, medians, from -v)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"accel": args.accel, "memory": args.memory, "runs": args.runs,
                       "results": results}, f, indent=2)
    failed = any(r["ok"] == 0 for r in results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Paravirtual I/O benchmark: vessel beside qemu-system-x86_64 (run by bench/io.sh).

Both VMMs boot the same Linux guest on the same accelerator (vessel soft beside
QEMU TCG, or KVM beside KVM) with the same memory, a virtio-blk disk on the same
kind of raw image with the same cache and aio modes, and virtio-net on
user-mode networking (libslirp in both). Inside the guest:

  disk write  dd if=/dev/zero of=/dev/vda bs=1M count=N oflag=direct
  disk read   dd if=/dev/vda of=/dev/null bs=1M count=N iflag=direct
  download    wget of an M MiB file from an HTTP server this script runs on the
              host's loopback, reached through slirp's gateway 10.0.2.2, saved
              to the guest's RAM file system (its size checked afterwards)

The guest times each step itself, from the kernel's clock in nanoseconds
(the "now at" line of /proc/timer_list, read before and after), and prints
the two readings on a marker line of the serial console; the script reports
MiB/s per step. (Timestamping the markers as they reached the host measured
the console's output latency too, which differs between the VMMs: QEMU's
read came out 1.5x faster than its guest saw it.) Runs alternate between
the VMMs so that load on a shared machine hits both alike. The figures are
medians over the runs, and the ratio is vessel / QEMU.
"""

import argparse
import base64
import http.server
import json
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

STEPS = ("write", "read", "download")


def guest_command(disk_mib, net_mib, port):
    now = "$(grep -m1 'now at' /proc/timer_list | cut -d' ' -f3)"

    def timed(step, command):
        return [f"t0={now}", command, f"t1={now}", f"echo IO-MARK {step} $t0 $t1"]

    return "\n".join([
        # slirp's fixed addresses, set by hand: DHCP is not what is measured.
        "ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && "
        "ip route add default via 10.0.2.2 || echo IO-MARK net-setup-failed",
        *timed("write", f"dd if=/dev/zero of=/dev/vda bs=1M count={disk_mib} oflag=direct "
                        "2>/dev/null"),
        *timed("read", f"dd if=/dev/vda of=/dev/null bs=1M count={disk_mib} iflag=direct "
                       "2>/dev/null"),
        *timed("download", f"wget -q -O /tmp/blob http://10.0.2.2:{port}/blob"),
        "n=$(wc -c </tmp/blob); rm -f /tmp/blob",
        f"[ \"$n\" = {net_mib * 1024 * 1024} ] && echo IO-MARK download-ok || "
        "echo IO-MARK download-short $n",
    ])


def serve_blob(blob):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(blob)))
            self.end_headers()
            view = memoryview(blob)
            for at in range(0, len(blob), 1 << 20):
                self.wfile.write(view[at:at + (1 << 20)])

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_once(argv, timeout_s):
    """Runs argv; returns ({marker: the rest of its line} for the first line with
    "IO-MARK marker ..." of each marker, exit status, hung, tail of the output)."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    fd = proc.stdout.fileno()
    marks, pending, tail = {}, b"", b""
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
        if not chunk:
            break
        tail = (tail + chunk)[-4000:]
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            text = line.decode("utf-8", "replace").strip()
            at = text.find("IO-MARK ")
            if at >= 0:
                words = text[at + 8:].split(maxsplit=1)
                if words:
                    marks.setdefault(words[0], words[1] if len(words) > 1 else "")
    if hung:
        os.killpg(proc.pid, signal.SIGKILL)
    status = proc.wait()
    proc.stdout.close()
    return marks, status, hung, tail.decode("utf-8", "replace")


def guest_argv(vmm, args, cmdline):
    """The Linux guest booted with `cmdline` under vessel or QEMU (q35) on
    args.accel with args.memory, its console on stdout; no devices yet."""
    if vmm == "vessel":
        return [args.vessel, "--accel", args.accel, "--memory", args.memory,
                "--kernel", args.kernel, "--initrd", args.initrd, "--cmdline", cmdline]
    accel = "kvm" if args.accel == "kvm" else "tcg"
    return [args.qemu, "-machine", "q35", "-accel", accel,
            "-cpu", "host" if accel == "kvm" else "max", "-m", args.memory, "-nodefaults",
            "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
            "-kernel", args.kernel, "-initrd", args.initrd, "-append", cmdline]


def vmm_argv(vmm, args, image, cmdline):
    argv = guest_argv(vmm, args, cmdline)
    if vmm == "vessel":
        return argv + ["--disk", f"{image},format=raw,cache={args.cache},aio={args.aio}",
                       "--net", "user"]
    return argv + [
        "-drive", f"file={image},if=none,id=d0,format=raw,cache={args.cache},aio={args.aio}",
        "-device", "virtio-blk-pci,drive=d0,disable-legacy=on",
        "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,disable-legacy=on"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--vessel", required=True)
    p.add_argument("--qemu", required=True)
    p.add_argument("--kernel", required=True)
    p.add_argument("--initrd", required=True)
    p.add_argument("--accel", choices=("kvm", "soft"), required=True)
    p.add_argument("--vmms", default="vessel,qemu")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--memory", default="512M")
    p.add_argument("--disk-mib", type=int, default=256)
    p.add_argument("--net-mib", type=int, default=64)
    p.add_argument("--cache", default="none")
    p.add_argument("--aio", default="threads")
    p.add_argument("--json")
    p.add_argument("--note", action="append", default=[])
    args = p.parse_args()
    vmms = args.vmms.split(",")

    blob = os.urandom(args.net_mib << 20)
    server = serve_blob(blob)
    port = server.server_address[1]
    cmd64 = base64.b64encode(guest_command(args.disk_mib, args.net_mib, port).encode()).decode()
    cmdline = f"console=ttyS0 quiet panic=-1 vessel.cmd64={cmd64}"

    results = {vmm: {step: [] for step in STEPS} for vmm in vmms}
    failures = []
    with tempfile.TemporaryDirectory(prefix="vessel-io-bench-", dir=os.environ.get("TMPDIR")) as d:
        image = os.path.join(d, "disk.raw")
        for run in range(args.runs):
            for vmm in vmms:
                with open(image, "wb") as f:
                    f.truncate((args.disk_mib + 16) << 20)
                marks, status, hung, tail = run_once(
                    vmm_argv(vmm, args, image, cmdline), args.timeout)
                got = []
                for step in STEPS:
                    try:
                        t0, t1 = (int(v) for v in marks.get(step, "").split())
                    except ValueError:
                        continue
                    a, b = t0 / 1e9, t1 / 1e9
                    mib = args.net_mib if step == "download" else args.disk_mib
                    if b <= a:
                        continue
                    if step == "download" and "download-ok" not in marks:
                        continue
                    results[vmm][step].append(mib / (b - a))
                    got.append(f"{step} {mib / (b - a):.1f} MiB/s")
                why = "hung" if hung else f"exit {status}"
                print(f"run {run + 1} {vmm}: {', '.join(got) or 'no figures'} ({why})",
                      file=sys.stderr)
                if len(got) < len(STEPS) or hung or status != 0:
                    failures.append(f"{vmm} run {run + 1}: {why}, marks {sorted(marks)}\n{tail}")
    server.shutdown()

    print(f"I/O benchmark, accel {args.accel}, {args.runs} runs, disk {args.disk_mib} MiB "
          f"(raw, cache={args.cache}, aio={args.aio}, dd bs=1M direct), "
          f"download {args.net_mib} MiB over user networking; medians in MiB/s")
    for n in args.note:
        print(f"  note: {n}")
    header = f"{'':10}" + "".join(f"{step:>12}" for step in STEPS)
    print(header)
    med = {}
    for vmm in vmms:
        med[vmm] = {s: statistics.median(v) if v else None for s, v in results[vmm].items()}
        print(f"{vmm:10}" + "".join(
            f"{med[vmm][s]:12.1f}" if med[vmm][s] else f"{'-':>12}" for s in STEPS))
    if "vessel" in med and "qemu" in med:
        ratios = {s: (med["vessel"][s] / med["qemu"][s]
                      if med["vessel"][s] and med["qemu"][s] else None) for s in STEPS}
        print(f"{'ratio':10}" + "".join(
            f"{ratios[s]:11.2f}x" if ratios[s] else f"{'-':>12}" for s in STEPS))
    for f in failures:
        print(f"FAILED: {f}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": results, "median": med, "failures": failures}, f, indent=1)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

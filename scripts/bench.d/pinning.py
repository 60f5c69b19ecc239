#!/usr/bin/env python3
"""Pinning benchmark (issue 19): what `[cpu.pin]` changes for a running guest on a loaded host.

The test-bed guest (TCG, 2 vCPUs, 256 MiB) runs twice per round: unpinned, and with
`[cpu.pin] vcpus = [0, 1]` (each vCPU thread on one host CPU; the emulator threads left to the
scheduler). While it runs, two CPU hogs (one per host CPU of this 2-CPU machine) load the host,
and for WINDOW seconds the benchmark counts, for each vCPU thread (ids from QMP
`query-cpus-fast`), the kernel's `se.nr_migrations` (/proc/PID/task/TID/sched: moves between
host CPUs) and the CPU time it got (utime + stime, /proc/PID/task/TID/stat).

What TCG can show: where the vCPU threads run and how often the scheduler moves them, which is
what pinning controls. What it cannot: the guest-side effect a KVM gaming VM feels (cache and
TLB warmth, interrupt latency, frame-time spread), because a TCG vCPU spends its time
translating and emulating, not running guest code on the CPU it is pinned to.

Environment: VM_HOME, VM_STATE_DIR, VM_RUNTIME_DIR point at a private folder (set by
scripts/bench). Prints a Markdown section on stdout; progress on stderr.
"""

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import VM_DOWN_OK, load_average, median, run, wait_for, write_definition  # noqa: E402

NAME = "benchpin"
TICKS = os.sysconf("SC_CLK_TCK")


def vcpu_threads(vm):
    reply = json.loads(run([vm, "qmp", NAME, "query-cpus-fast", "--json"]))
    return [cpu["thread-id"] for cpu in reply]


def migrations(pid, tid):
    with open(f"/proc/{pid}/task/{tid}/sched") as handle:
        for line in handle:
            if line.startswith("se.nr_migrations"):
                return int(line.split(":")[1])
    raise RuntimeError(f"no se.nr_migrations for thread {tid} (kernel without SCHED_DEBUG?)")


def cpu_seconds(pid, tid):
    with open(f"/proc/{pid}/task/{tid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    # After "pid (comm)": field 14 utime and 15 stime are at 11 and 12 here.
    return (int(fields[11]) + int(fields[12])) / TICKS


def sample(pid, threads):
    return {tid: (migrations(pid, tid), cpu_seconds(pid, tid)) for tid in threads}


def measure(vm, window, pinned, kernel, initrd, cmdline):
    pins = "\n[cpu.pin]\nvcpus = [0, 1]\n" if pinned else ""
    write_definition(os.environ["VM_HOME"], NAME, kernel, initrd, cmdline, extra=pins)
    # Two vCPUs: the definition's [cpu] says cores = 1.
    path = os.path.join(os.environ["VM_HOME"], f"{NAME}.toml")
    with open(path) as handle:
        text = handle.read().replace("cores = 1", "cores = 2", 1)
    with open(path, "w") as handle:
        handle.write(text)
    run([vm, "up", NAME])
    hogs = []
    try:
        pid = int(open(os.path.join(os.environ["VM_RUNTIME_DIR"], NAME, "qemu.pid")).read().strip())
        serial = os.path.join(os.environ["VM_STATE_DIR"], NAME, "serial.log")
        wait_for(lambda: os.path.exists(serial) and "VMTEST-READY" in open(serial, errors="replace").read(), 300,
                 "the guest to boot")
        threads = vcpu_threads(vm)
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 2)]
        time.sleep(1)
        before = sample(pid, threads)
        time.sleep(window)
        after = sample(pid, threads)
        moved = sum(after[t][0] - before[t][0] for t in threads) / window
        share = sum(after[t][1] - before[t][1] for t in threads) / window
        return moved, share
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
        run([vm, "down", NAME, "--force"], accept=VM_DOWN_OK)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vm", required=True)
    parser.add_argument("--kernel", required=True)
    parser.add_argument("--initrd", required=True)
    parser.add_argument("--cmdline", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--window", type=int, default=20)
    args = parser.parse_args()
    load_before = load_average()
    results = {False: [], True: []}
    for round_ in range(args.rounds):
        for pinned in (False, True) if round_ % 2 == 0 else (True, False):
            print(f"pinning: round {round_ + 1}, {'pinned' if pinned else 'unpinned'}", file=sys.stderr)
            results[pinned].append(measure(args.vm, args.window, pinned, args.kernel, args.initrd, args.cmdline))
    load_after = load_average()

    def row(label, values):
        moved = median([value[0] for value in values])
        share = median([value[1] for value in values])
        return moved, share, f"| {label} | {moved:.1f} | {share:.2f} |"

    free_moved, free_share, free_row = row("unpinned", results[False])
    pin_moved, pin_share, pin_row = row("`vcpus = [0, 1]`", results[True])
    ratio = f"{free_moved / pin_moved:.0f}x fewer" if pin_moved > 0 else "none at all"
    print(f"{args.rounds} rounds of {args.window} s, each with a CPU hog per host CPU; medians of the rounds. "
          f"Load average before {load_before}, after {load_after}.\n")
    print("| vCPU threads | migrations between host CPUs per second (both vCPUs) | CPU seconds per second (both vCPUs) |")
    print("| --- | ---: | ---: |")
    print(free_row)
    print(pin_row)
    print(f"\nPinned, the vCPU threads moved {ratio} ({pin_moved:.1f}/s against {free_moved:.1f}/s) and got "
          f"{pin_share / free_share:.2f}x the CPU time of the unpinned run under the same load.")


if __name__ == "__main__":
    main()

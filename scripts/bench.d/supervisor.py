#!/usr/bin/env python3
"""Supervisor benchmark (issue 15): what the per-VM supervisor costs while the VM runs, and how
long `vm status` takes on a running VM.

Per round and per `vm` build (A/B when --vm is given more than once; the builds take turns, in a
rotating order, so that load moves both alike): `vm up NAME` of the booted test-bed guest (TCG,
1 vCPU, 256 MiB), a settle of SETTLE seconds, then
  RSS         the supervisor's VmRSS and /proc/PID/smaps_rollup (anonymous, file-backed, private
              dirty), its threads, and the executable it runs (/proc/PID/exe)
  idle CPU    the supervisor's utime + stime (/proc/PID/stat) over IDLE seconds of an idle guest
  vm status   STATUS runs of `vm status NAME`, each timed from spawn to exit
  RSS served  VmRSS again after those runs (the code requests run is mapped again)
then `vm down NAME --force` (untimed). The supervisor's pid comes from the run record
(STATE/NAME/run.json).

Environment: VM_HOME, VM_STATE_DIR, VM_RUNTIME_DIR point at a private folder (set by
scripts/bench). Prints a Markdown section on stdout; progress on stderr.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import VM_DOWN_OK, load_average, median, ms, p90, run, timed, write_definition  # noqa: E402

NAME = "benchsv"
TICKS = os.sysconf("SC_CLK_TCK")


def supervisor_pid():
    path = os.path.join(os.environ["VM_STATE_DIR"], NAME, "run.json")
    with open(path) as handle:
        return int(json.load(handle)["supervisorPID"])


def status_field(pid, key):
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return line.split()[1]
    raise KeyError(key)


def smaps_rollup(pid):
    """kB values of /proc/PID/smaps_rollup by key."""
    values = {}
    with open(f"/proc/{pid}/smaps_rollup") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                values[parts[0].rstrip(":")] = int(parts[1])
    return values


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def measure(vm, label, args):
    run([vm, "up", NAME])
    try:
        time.sleep(args.settle)
        pid = supervisor_pid()
        exe = os.readlink(f"/proc/{pid}/exe")
        rollup = smaps_rollup(pid)
        sample = {
            "rss": int(status_field(pid, "VmRSS")) / 1024,
            "anon": rollup.get("Anonymous", 0) / 1024,
            "file": (rollup.get("Rss", 0) - rollup.get("Anonymous", 0)) / 1024,
            "dirty": rollup.get("Private_Dirty", 0) / 1024,
            "threads": int(status_field(pid, "Threads")),
            "exe": exe,
        }
        before = cpu_ticks(pid)
        time.sleep(args.idle)
        sample["idle_ticks"] = cpu_ticks(pid) - before
        sample["status"] = [timed([vm, "status", NAME])[0] for _ in range(args.status)]
        # After serving clients: the code a request runs is mapped again (and stays).
        sample["rss_served"] = int(status_field(pid, "VmRSS")) / 1024
        print(f"  {label}: RSS {sample['rss']:.1f} MiB, status median {median(sample['status']):.1f} ms", file=sys.stderr)
        return sample
    finally:
        run([vm, "down", NAME, "--force"], accept=VM_DOWN_OK)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vm", action="append", required=True, help="LABEL=PATH or PATH; repeat for an A/B")
    parser.add_argument("--kernel", required=True)
    parser.add_argument("--initrd", required=True)
    parser.add_argument("--cmdline", required=True)
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_SUPERVISOR_ROUNDS", "3")))
    parser.add_argument("--status", type=int, default=int(os.environ.get("BENCH_STATUS_RUNS", "15")))
    parser.add_argument("--idle", type=float, default=float(os.environ.get("BENCH_IDLE_WINDOW", "20")))
    parser.add_argument("--settle", type=float, default=3.0)
    args = parser.parse_args()

    builds = []
    for entry in args.vm:
        label, _, path = entry.rpartition("=")
        builds.append((label or "vm", path))
    write_definition(os.environ["VM_HOME"], NAME, args.kernel, args.initrd, args.cmdline)
    load_before = load_average()
    samples = {label: [] for label, _ in builds}
    for round_index in range(args.rounds):
        print(f"supervisor: round {round_index + 1}/{args.rounds}", file=sys.stderr)
        order = builds[round_index % len(builds):] + builds[:round_index % len(builds)]
        for label, vm in order:
            samples[label].append(measure(vm, label, args))
    load_after = load_average()

    print(f"Booted test-bed guest (TCG, 1 vCPU, 256 MiB, no NIC), {args.rounds} rounds"
          + (f", the builds interleaved in rotating order" if len(builds) > 1 else "")
          + f"; per round: RSS after {args.settle:g} s, CPU over {args.idle:g} s idle, {args.status} `vm status` runs,"
          + " RSS again after them (served)."
          + f" Load average before: {load_before}; after: {load_after}.\n")
    print("| build | supervisor RSS MiB (median) | anonymous | file-backed | private dirty | RSS served | threads "
          "| idle CPU ticks | `vm status` median ms | p90 ms | all status runs (ms) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for label, _ in builds:
        rows = samples[label]
        status = [value for row in rows for value in row["status"]]
        pick = lambda key: median([row[key] for row in rows])  # noqa: E731
        print(f"| {label} (`{os.path.basename(rows[0]['exe'])}`) | {pick('rss'):.1f} | {pick('anon'):.1f} | {pick('file'):.1f} "
              f"| {pick('dirty'):.1f} | {pick('rss_served'):.1f} | {pick('threads'):g} | {sum(row['idle_ticks'] for row in rows)} "
              f"| {ms(median(status))} | {ms(p90(status))} | {' '.join(f'{value:.0f}' for value in status)} |")


if __name__ == "__main__":
    main()

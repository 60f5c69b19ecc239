#!/usr/bin/env python3
"""Teardown benchmark (issue 15): from QEMU's exit to every function of a hot GPU back on its
host driver, on a fake kernel.

Runs Sources/teardown-bench (release build): per round a new fake host (two RTX 3090 Ti; the VM's
hot GPU is the one at 05:00, functions on nvidia and snd_hda_intel), the test-bed guest in real
QEMU (TCG, 1 vCPU, 256 MiB) supervised in teardown-bench's own process by the supervisor's code
(VMSupervisor.run, over the fake kernel), the GPU recorded in the guest (both functions on
vfio-pci, swap journal `in-guest`), then QEMU ends:
  kill      SIGKILL right after the supervisor serves
  poweroff  the booted guest gets the ACPI power button (QMP system_powerdown through the VM's
            socket) and powers itself off
Times per round (milliseconds): the trigger to QEMU's exit (a thread blocked on QEMU's pidfd),
the exit to the teardown's first sysfs access, the exit to the write after which every function
is on its original driver (the goal: <= 100 ms), and the exit to the supervisor's return.

Environment: VM_HOME, VM_STATE_DIR, VM_RUNTIME_DIR point at a private folder (set by
scripts/bench). Prints a Markdown section on stdout; progress on stderr.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import load_average, median, ms, p90, run, verdict, write_definition  # noqa: E402

NAME = "benchtd"
GOAL_MS = 100.0
# The fake host's second RTX 3090 Ti (HostLinuxFakes Scenarios.twoIdentical3090Ti), plugged while the VM runs.
GPU = '''
[[gpu]]
address = "0000:05:00"
plug = "hot"
'''
COLUMNS = ("to_exit", "to_first", "to_back", "to_done")


def measure(bench, definition, mode, rounds):
    rows = []
    for line in run([bench, definition, str(rounds), mode]).splitlines():
        fields = line.split()
        if len(fields) != 1 + len(COLUMNS) or fields[0] != mode:
            raise RuntimeError(f"teardown-bench printed an unexpected line: {line!r}")
        rows.append(dict(zip(COLUMNS, map(float, fields[1:]))))
    if len(rows) != rounds:
        raise RuntimeError(f"teardown-bench printed {len(rows)} rounds, not {rounds}")
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", required=True, help="the teardown-bench executable")
    parser.add_argument("--kernel", required=True)
    parser.add_argument("--initrd", required=True)
    parser.add_argument("--cmdline", required=True)
    parser.add_argument("--kills", type=int, default=int(os.environ.get("BENCH_TEARDOWN_KILLS", "20")))
    parser.add_argument("--poweroffs", type=int, default=int(os.environ.get("BENCH_TEARDOWN_POWEROFFS", "5")))
    args = parser.parse_args()

    definition = write_definition(os.environ["VM_HOME"], NAME, args.kernel, args.initrd, args.cmdline, extra=GPU)
    load_before = load_average()
    results = []
    for mode, rounds, label in (("kill", args.kills, "`kill -9` of QEMU"),
                                ("poweroff", args.poweroffs, "the guest powers itself off")):
        print(f"teardown: {rounds} rounds, {mode}", file=sys.stderr)
        results.append((label, measure(args.bench, definition, mode, rounds)))
    load_after = load_average()

    every_back = [row["to_back"] for _, rows in results for row in rows]
    print("Real QEMU (test-bed guest, TCG, 1 vCPU, 256 MiB) supervised by the supervisor's own code in "
          "`teardown-bench` over a fake kernel; a hot GPU (two functions) recorded in the guest. "
          f"Load average before: {load_before}; after: {load_after}.\n")
    print("| QEMU ends by | rounds | trigger -> exit ms (median) | exit -> first sysfs access | "
          "exit -> every function back: median | p90 | max | exit -> teardown done (median) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, rows in results:
        column = lambda key: [row[key] for row in rows]  # noqa: E731
        back = column("to_back")
        print(f"| {label} | {len(rows)} | {ms(median(column('to_exit')))} | {median(column('to_first')):.2f} "
              f"| {median(back):.2f} | {p90(back):.2f} | {max(back):.2f} | {median(column('to_done')):.2f} |")
    print(f"\nGoal (issue 15): every function back on its host driver <= {GOAL_MS:g} ms after QEMU's exit, in every "
          f"round: {verdict(max(every_back) <= GOAL_MS)} (largest {max(every_back):.2f} ms of {len(every_back)} rounds).")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""GPU hot-swap benchmark (issue 6): `vm gpu attach` / `vm gpu detach` of the stand-in GPU pair
(secondary-vga + ES1370, `plug = "hot"`) into the booted test-bed guest, CYCLES times.

For each swap it records what `vm gpu ... --json` reports: ownWorkMilliseconds (the swap's own
work: journal writes, planning, checks; with a real GPU also the sysfs binding) and
waitingMilliseconds (QMP device_add/device_del/query-pci round trips and the wait for the guest
to release the slot, DEVICE_DELETED), plus the wall time of the whole `vm gpu` process. Between
swaps it waits for the guest to report the change on its serial console (VMTEST-PCI-ADD /
VMTEST-PCI-REMOVE), so that every attach and detach starts from a settled guest.

Environment: VM_HOME, VM_STATE_DIR, VM_RUNTIME_DIR (set by scripts/bench). Prints a Markdown
section on stdout; progress on stderr.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (VM_DOWN_OK, load_average, median, ms, p90, read_lines, run, timed, verdict,  # noqa: E402
                      wait_for, write_definition)

NAME = "benchswap"
GPU = '''
[[gpu]]
address = "0000:00:10"
device = "stand-in"
plug = "hot"
'''


def count(serial, prefix):
    """How many serial lines after VMTEST-READY start with prefix."""
    lines = read_lines(serial)
    if "VMTEST-READY" not in lines:
        return 0
    after = lines[lines.index("VMTEST-READY") + 1:]
    return sum(1 for line in after if line.startswith(prefix))


def swap(vm, verb):
    wall, out = timed([vm, "gpu", verb, NAME, "--json"])
    report = json.loads(out)
    return report["ownWorkMilliseconds"], report["waitingMilliseconds"], wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vm", required=True)
    parser.add_argument("--kernel", required=True)
    parser.add_argument("--initrd", required=True)
    parser.add_argument("--cmdline", required=True)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--hotplug", choices=["acpi", "pcie"], default="acpi")
    args = parser.parse_args()

    write_definition(os.environ["VM_HOME"], NAME, args.kernel, args.initrd, args.cmdline, extra=GPU,
                     top=f'hotplug = "{args.hotplug}"\n')
    serial = os.path.join(os.environ["VM_STATE_DIR"], NAME, "serial.log")
    load_before = load_average()
    results = {"attach": [], "detach": []}
    run([args.vm, "up", NAME])
    try:
        print("swap: waiting for the guest to boot", file=sys.stderr)
        wait_for(lambda: "VMTEST-READY" in read_lines(serial), 180, "VMTEST-READY")
        for cycle in range(args.cycles):
            added, removed = count(serial, "VMTEST-PCI-ADD"), count(serial, "VMTEST-PCI-REMOVE")
            results["attach"].append(swap(args.vm, "attach"))
            wait_for(lambda: count(serial, "VMTEST-PCI-ADD") >= added + 2, 60, "the guest to see both functions")
            results["detach"].append(swap(args.vm, "detach"))
            wait_for(lambda: count(serial, "VMTEST-PCI-REMOVE") >= removed + 2, 60, "the guest to drop both functions")
            print(f"swap: cycle {cycle + 1}/{args.cycles}: "
                  + ", ".join(f"{verb} own {r[-1][0]:.1f} ms, waiting {r[-1][1]:.0f} ms, wall {r[-1][2]:.0f} ms"
                              for verb, r in results.items()), file=sys.stderr)
    finally:
        run([args.vm, "down", NAME, "--force"], accept=VM_DOWN_OK)
    load_after = load_average()

    print(f"Booted test-bed guest (TCG, 1 vCPU, 256 MiB), hot stand-in GPU (secondary-vga + ES1370 on a "
          f"free pcie-root-port), `hotplug = \"{args.hotplug}\"`, {args.cycles} attach/detach cycles; the stand-in has no host side, so "
          f"own work here is journal + QMP client work without sysfs binding. "
          f"Load average before: {load_before}; after: {load_after}.")
    print()
    print("| swap | own work median ms | own work p90 ms | waiting median ms | waiting p90 ms "
          "| `vm gpu` process wall median ms | own work per run (ms) |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for verb, rows in results.items():
        own = [r[0] for r in rows]
        waiting = [r[1] for r in rows]
        wall = [r[2] for r in rows]
        print(f"| {verb} | {ms(median(own))} | {ms(p90(own))} | {ms(median(waiting))} | {ms(p90(waiting))} "
              f"| {ms(median(wall))} | " + " ".join(f"{v:.1f}" for v in own) + " |")
    print()
    worst = max(median([r[0] for r in rows]) for rows in results.values())
    print("| goal | measured | |")
    print("|---|---:|---|")
    print(f"| own work < 50 ms per swap (the slower of attach and detach, median) | {ms(worst)} ms | {verdict(worst < 50)} |")
    detach_wall = median([r[2] for r in results["detach"]])
    print(f"| `vm gpu detach` wall time <= 1.5 s (median) | {ms(detach_wall)} ms | {verdict(detach_wall <= 1500)} |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Lifecycle benchmark (issue 4): the time to a QEMU that answers QMP, four ways, same guest.

  vm up      `vm up NAME --paused`, from spawn until it returns (it returns once QEMU answered
             query-status over QMP)
  bare QEMU  the argv `vm qemu-args NAME` prints, plus -S -daemonize, then a minimal QMP client:
             from spawn until the `qmp_capabilities` reply (the peer issue 4 names)
  bare detached  the same argv plus -S, started in the background without -daemonize (own
             session, cwd /, output to a log; one fork where `vm up` makes two), the same client
             connecting as soon as the monitor listens: from spawn until the `qmp_capabilities` reply
  virsh      `virsh start --paused` of an equivalent libvirt domain (from `vm libvirt-xml NAME`
             when vm has that verb, else the minimal domain below), from spawn until it returns

All four start the same paused (-S) test-bed guest (TCG, 1 vCPU, 256 MiB, direct kernel boot).
One untimed warm-up of each, then RUNS rounds; each round runs the four in a rotating order so
that no peer always goes first. Teardown (untimed): vm down --force, QMP quit, virsh destroy;
virsh undefine at the end.

Environment: VM_HOME, VM_STATE_DIR, VM_RUNTIME_DIR point at a private folder (set by
scripts/bench). Prints a Markdown section on stdout; progress on stderr.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (VM_DOWN_OK, QMPLine, load_average, median, ms, p90, pid_alive, run, timed, verdict,  # noqa: E402
                      wait_for, write_definition)

NAME = "benchlc"
URI = "qemu:///system"


def minimal_domain(name, kernel, initrd, cmdline):
    """A libvirt domain equivalent to the vm definition: q35, TCG, 1 vCPU (max model), 256 MiB,
    direct kernel boot, one free pcie-root-port, a serial port, no NIC, no USB, no balloon."""
    return f"""<domain type='qemu'>
  <name>{escape(name)}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{escape(kernel)}</kernel>
    <initrd>{escape(initrd)}</initrd>
    <cmdline>{escape(cmdline)}</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <cpu mode='maximum'/>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' model='none'/>
    <controller type='pci' index='0' model='pcie-root'/>
    <controller type='pci' index='1' model='pcie-root-port'/>
    <serial type='pty'/>
    <memballoon model='none'/>
  </devices>
</domain>
"""


def domain_xml(vm, name, kernel, initrd, cmdline):
    """(xml, source): vm's own XML renamed to `name` when vm has `libvirt-xml`, else the minimal one."""
    try:
        text = run([vm, "libvirt-xml", NAME])
    except RuntimeError:
        return minimal_domain(name, kernel, initrd, cmdline), "a minimal hand-written domain (this vm has no `libvirt-xml` yet)"
    root = ElementTree.fromstring(text)
    root.find("name").text = name
    for uuid in root.findall("uuid"):
        root.remove(uuid)
    return ElementTree.tostring(root, encoding="unicode"), "`vm libvirt-xml` (renamed)"


class Peers:
    def __init__(self, vm, domain):
        self.vm = vm
        self.domain = domain
        argv = run([vm, "qemu-args", NAME]).splitlines()
        self.bare_argv = argv + ["-S", "-daemonize"]
        self.detached_argv = argv + ["-S"]
        self.qmp_socket = self._qmp_socket(argv)
        self.pidfile = argv[argv.index("-pidfile") + 1]
        self.runtime_dir = os.path.dirname(self.pidfile)

    @staticmethod
    def _qmp_socket(argv):
        """The path of the `-chardev socket,id=qmp0,path=...` that vm puts the monitor on."""
        for word in argv:
            if word.startswith("socket,id=qmp0,"):
                for part in word.split(","):
                    if part.startswith("path="):
                        return part[len("path="):]
        raise RuntimeError("no QMP socket in vm qemu-args")

    @staticmethod
    def _negotiated(qmp, start):
        """Reads the greeting, negotiates capabilities; the milliseconds since `start` at the reply."""
        qmp.readline()  # greeting
        reply = qmp.reply(b'{"execute": "qmp_capabilities"}\n')
        elapsed = (time.perf_counter() - start) * 1000
        if not reply.startswith(b'{"return"'):
            raise RuntimeError(f"qmp_capabilities: {reply!r}")
        return elapsed

    def vm_up(self):
        elapsed, _ = timed([self.vm, "up", NAME, "--paused"])
        run([self.vm, "down", NAME, "--force"], accept=VM_DOWN_OK)
        return elapsed

    def bare(self):
        os.makedirs(self.runtime_dir, mode=0o700, exist_ok=True)
        start = time.perf_counter()
        run(self.bare_argv)
        qmp = QMPLine(self.qmp_socket)
        elapsed = self._negotiated(qmp, start)
        with open(self.pidfile) as handle:
            pid = int(handle.read().strip())
        qmp.reply(b'{"execute": "quit"}\n')
        qmp.close()
        try:
            wait_for(lambda: not pid_alive(pid), 10, "bare QEMU to quit")
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.runtime_dir, ignore_errors=True)
        return elapsed

    def bare_detached(self):
        os.makedirs(self.runtime_dir, mode=0o700, exist_ok=True)
        log_path = os.path.join(os.environ["VM_STATE_DIR"], "bare-detached.log")
        start = time.perf_counter()
        with open(log_path, "ab") as log:
            qemu = subprocess.Popen(self.detached_argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    cwd="/", start_new_session=True)
        qmp = QMPLine(self.qmp_socket, await_listener=True)
        elapsed = self._negotiated(qmp, start)
        qmp.reply(b'{"execute": "quit"}\n')
        qmp.close()
        try:
            qemu.wait(timeout=10)
        except subprocess.TimeoutExpired:
            qemu.kill()
            qemu.wait()
        shutil.rmtree(self.runtime_dir, ignore_errors=True)
        return elapsed

    def virsh(self):
        elapsed, _ = timed(["virsh", "-q", "-c", URI, "start", self.domain, "--paused"])
        run(["virsh", "-q", "-c", URI, "destroy", self.domain])
        return elapsed

    def vm_process(self):
        """The floor of any vm verb: process start, definition load, argv built (`vm qemu-args`)."""
        elapsed, _ = timed([self.vm, "qemu-args", NAME])
        return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vm", required=True)
    parser.add_argument("--kernel", required=True)
    parser.add_argument("--initrd", required=True)
    parser.add_argument("--cmdline", required=True)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    write_definition(os.environ["VM_HOME"], NAME, args.kernel, args.initrd, args.cmdline)
    domain = f"vmbench-{os.getpid()}"
    xml, xml_source = domain_xml(args.vm, domain, args.kernel, args.initrd, args.cmdline)
    xml_path = os.path.join(os.environ["VM_STATE_DIR"], "domain.xml")
    os.makedirs(os.path.dirname(xml_path), exist_ok=True)
    with open(xml_path, "w") as handle:
        handle.write(xml)
    run(["virsh", "-q", "-c", URI, "define", xml_path])
    peers = Peers(args.vm, domain)
    order = [("vm up", peers.vm_up), ("bare QEMU", peers.bare), ("bare detached", peers.bare_detached),
             ("virsh start", peers.virsh)]
    times = {label: [] for label, _ in order}
    floor = []
    load_before = load_average()
    try:
        print("lifecycle: warm-up", file=sys.stderr)
        for _, measure in order:
            measure()
        for round_index in range(args.runs):
            rotated = order[round_index % len(order):] + order[:round_index % len(order)]
            for label, measure in rotated:
                times[label].append(measure())
            floor.append(peers.vm_process())
            print(f"lifecycle: round {round_index + 1}/{args.runs}: "
                  + ", ".join(f"{label} {times[label][-1]:.0f} ms" for label, _ in order), file=sys.stderr)
    finally:
        if run(["virsh", "-q", "-c", URI, "domstate", domain]).strip() != "shut off":
            run(["virsh", "-q", "-c", URI, "destroy", domain])
        run(["virsh", "-q", "-c", URI, "undefine", domain])
    load_after = load_average()

    vm_median = median(times["vm up"])
    bare_median = median(times["bare QEMU"])
    virsh_median = median(times["virsh start"])
    print(f"Paused (-S) test-bed guest: TCG, 1 vCPU, 256 MiB, direct kernel boot, no NIC. "
          f"{args.runs} runs each after one warm-up, interleaved in rotating order. "
          f"libvirt domain: {xml_source}. Load average before: {load_before}; after: {load_after}.")
    print()
    print("| peer | median ms | p90 ms | min ms | max ms | runs (ms) |")
    print("|---|---:|---:|---:|---:|---|")
    rows = [("`vm up --paused` (to query-status answered)", times["vm up"]),
            ("bare `qemu-system-x86_64 ... -S -daemonize` + QMP negotiate", times["bare QEMU"]),
            ("bare `qemu-system-x86_64 ... -S` started detached, no -daemonize + QMP negotiate", times["bare detached"]),
            ("`virsh start --paused`", times["virsh start"]),
            ("for scale: `vm qemu-args` (vm process start + definition load)", floor)]
    for label, values in rows:
        print(f"| {label} | {ms(median(values))} | {ms(p90(values))} | {ms(min(values))} | {ms(max(values))} | "
              + " ".join(f"{v:.0f}" for v in values) + " |")
    print()
    up_vs_bare = vm_median / bare_median
    virsh_vs_up = virsh_median / vm_median
    print("| goal | measured (medians) | |")
    print("|---|---:|---|")
    print(f"| `vm up` <= 1.15x bare QEMU | {up_vs_bare:.2f}x | {verdict(up_vs_bare <= 1.15)} |")
    print(f"| `vm up` >= 2x faster than `virsh start` | {virsh_vs_up:.2f}x faster | {verdict(virsh_vs_up >= 2)} |")
    print()
    detached_median = median(times["bare detached"])
    print(f"No goal, for reading the first: `vm up` takes {vm_median / detached_median:.2f}x the bare QEMU started "
          f"detached without -daemonize ({ms(vm_median - detached_median)} ms more, medians): what is left of "
          f"`vm up`'s own cost once the start without -daemonize is credited to neither side.")


if __name__ == "__main__":
    main()

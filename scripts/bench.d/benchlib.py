"""Shared pieces of the scripts/bench drivers: statistics, Markdown, the test-bed definition,
waiting for files and processes. Standard library only."""

import math
import os
import socket
import subprocess
import time


def median(values):
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return float("nan")
    middle = n // 2
    return ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def p90(values):
    """The 90th percentile by nearest rank: the value at rank ceil(0.9 n) (the 9th of 10)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def ms(value):
    return f"{value:.1f}"


def verdict(ok):
    return "met" if ok else "MISSED"


def load_average():
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def run(argv, accept=(0,)):
    """Runs argv (a list, never through a shell); raises with its stderr when its exit status
    is not in `accept`."""
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if result.returncode not in accept:
        raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}: {result.stderr.strip()}")
    return result.stdout


# `vm down` exit statuses: 0 the guest powered off, 3 QMP quit, 4 SIGTERM, 5 SIGKILL.
VM_DOWN_OK = (0, 3, 4, 5)


def timed(argv):
    """Runs argv to completion; returns (milliseconds, stdout)."""
    start = time.perf_counter()
    out = run(argv)
    return (time.perf_counter() - start) * 1000, out


def write_definition(vm_home, name, kernel, initrd, cmdline, extra="", top=""):
    """The test-bed guest as a vm definition: TCG, 1 vCPU, 256 MiB, BIOS, direct kernel boot,
    no network (every peer gets the same machine). `top`: more top-level keys, `extra`: more
    tables."""
    os.makedirs(vm_home, mode=0o700, exist_ok=True)
    text = f'''{top}accelerator = "tcg"
memory = "256M"

[cpu]
model = "max"
cores = 1

[firmware]
type = "bios"

[boot]
kernel = "{kernel}"
initrd = "{initrd}"
append = "{cmdline}"

[network]
mode = "none"
{extra}'''
    path = os.path.join(vm_home, f"{name}.toml")
    with open(path, "w") as handle:
        handle.write(text)
    return path


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_lines(path):
    try:
        with open(path, errors="replace") as handle:
            return handle.read().splitlines()
    except FileNotFoundError:
        return []


class QMPLine:
    """A bare QMP connection: one JSON object per line, nothing else."""

    def __init__(self, path, timeout=30, await_listener=False):
        """Connects to `path`; with await_listener, retries every 5 ms until QEMU listens there."""
        deadline = time.monotonic() + timeout
        while True:
            self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.socket.settimeout(timeout)
            try:
                self.socket.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.socket.close()
                if not await_listener or time.monotonic() >= deadline:
                    raise
                time.sleep(0.005)
        self.reader = self.socket.makefile("rb")

    def readline(self):
        line = self.reader.readline()
        if not line:
            raise ConnectionError("QMP socket closed")
        return line

    def reply(self, command):
        """Sends command (bytes, one line) and returns the first reply line (events skipped)."""
        self.socket.sendall(command)
        while True:
            line = self.readline()
            if line.startswith(b'{"return"') or line.startswith(b'{"error"'):
                return line

    def close(self):
        self.reader.close()
        self.socket.close()

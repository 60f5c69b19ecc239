#!/usr/bin/env bash
# QMP part of scripts/bench (issue 3): round trips against one real QEMU (TCG, -S), all peers in
# one run:
#   ours-seq   sequential query-status through the Swift QMP module (release build)
#   raw-seq    sequential query-status through a bare Python socket loop (the floor)
#   raw-id     the same loop sending an "id" with each command, as any client matching replies must
#   qemu.qmp   sequential query-status through QEMU's own Python library (pip install qemu.qmp)
#   ours-pipe  query-status with 8 in flight through the Swift QMP module
#   *-pinned   the same with the calling tasks preferring the client's reader-thread executor
#              (QMPClient.executor), which saves one thread hand-off per reply
# Each peer runs ROUNDS times, interleaved; the median rate is reported.
# Usage: scripts/bench.d/qmp.sh QMP_BENCH_BINARY [COUNT] [ROUNDS]      (defaults 5000, 3)
# Run it through scripts/bench (which builds qmp-bench); prints a Markdown section on stdout.
set -euo pipefail

bench=$1
count=${2:-5000}
rounds=${3:-3}

command -v qemu-system-x86_64 >/dev/null || { echo "bench qmp: qemu-system-x86_64 not found" >&2; exit 1; }
if ! python3 -c 'import qemu.qmp' 2>/dev/null; then
    echo "bench qmp: Python qemu.qmp missing; run: scripts/setup --bench" >&2
    exit 1
fi

work=$(mktemp -d /tmp/vmb-qmp.XXXXXX)
chmod 700 "$work"
socket=$work/qmp.sock
qemu_pid=
cleanup() {
    if [[ -n $qemu_pid ]]; then kill "$qemu_pid" 2>/dev/null || true; wait "$qemu_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

qemu-system-x86_64 -machine q35,accel=tcg -nodefaults -display none -S \
    -qmp "unix:$socket,server=on,wait=off" >"$work/qemu.log" 2>&1 &
qemu_pid=$!
for _ in $(seq 200); do [[ -S $socket ]] && break; sleep 0.05; done
[[ -S $socket ]] || { echo "bench qmp: QEMU did not create $socket" >&2; cat "$work/qemu.log" >&2; exit 1; }
sleep 0.2

raw_seq() {
    python3 - "$socket" "$count" "${1:-}" <<'PY'
import socket, sys, time
path, count, with_id = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "id"
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
reader = s.makefile("rb")
reader.readline()  # greeting
def call(line):
    s.sendall(line)
    while True:
        reply = reader.readline()
        if not reply:
            raise SystemExit("closed")
        if reply.startswith(b'{"return"') or reply.startswith(b'{"error"'):
            return reply
call(b'{"execute": "qmp_capabilities"}\n')
next_id = 0
def query():
    global next_id
    if not with_id:
        return b'{"execute": "query-status"}\n'
    next_id += 1
    return b'{"execute": "query-status", "id": %d}\n' % next_id
for _ in range(200):
    call(query())
start = time.perf_counter()
cpu = time.process_time()
for _ in range(count):
    call(query())
cpu = time.process_time() - cpu
elapsed = time.perf_counter() - start
print(f"raw {count} {elapsed} {count / elapsed} {cpu / count * 1e6}")
PY
}

qemu_qmp_seq() {
    python3 - "$socket" "$count" <<'PY'
import asyncio, sys, time
from qemu.qmp import QMPClient
async def main(path, count):
    qmp = QMPClient("bench")
    await qmp.connect(path)
    for _ in range(200):
        await qmp.execute("query-status")
    start = time.perf_counter()
    cpu = time.process_time()
    for _ in range(count):
        await qmp.execute("query-status")
    cpu = time.process_time() - cpu
    elapsed = time.perf_counter() - start
    await qmp.disconnect()
    print(f"qemu.qmp {count} {elapsed} {count / elapsed} {cpu / count * 1e6}")
asyncio.run(main(sys.argv[1], int(sys.argv[2])))
PY
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A rates cpus
record() {  # record PEER LINE: the rate (field 4) and CPU microseconds per call (field 5)
    rates[$1]+="$(awk '{printf "%.0f", $4}' <<<"$2") "
    cpus[$1]+="$(awk '{printf "%.1f", $5}' <<<"$2") "
}
for round in $(seq "$rounds"); do
    echo "qmp: round $round/$rounds" >&2
    record ours-seq "$("$bench" "$socket" sequential "$count")"
    record raw-seq "$(raw_seq)"
    record raw-id "$(raw_seq id)"
    record qemu.qmp "$(qemu_qmp_seq)"
    record ours-pipe "$("$bench" "$socket" pipelined "$count" 8)"
    record ours-seq-pinned "$("$bench" "$socket" sequential-pinned "$count")"
    record ours-pipe-pinned "$("$bench" "$socket" pipelined-pinned "$count" 8)"
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ours=$(median <<<"${rates[ours-seq]}")
raw=$(median <<<"${rates[raw-seq]}")
raw_id=$(median <<<"${rates[raw-id]}")
lib=$(median <<<"${rates[qemu.qmp]}")
pipe=$(median <<<"${rates[ours-pipe]}")
seq_pinned=$(median <<<"${rates[ours-seq-pinned]}")
pipe_pinned=$(median <<<"${rates[ours-pipe-pinned]}")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
pass() { awk -v a="$1" -v b="$2" 'BEGIN {print (a >= b) ? "met" : "MISSED"}'; }

cat <<MD
QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}') with -S (TCG, no guest running). $count query-status round trips per run, $rounds runs each (interleaved), median shown.
Load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg).

| peer | round trips/s (median) | runs | client CPU µs/call (median) |
|---|---:|---|---:|
| Swift QMP module, sequential | $(printf %.0f "$ours") | ${rates[ours-seq]}| $(median <<<"${cpus[ours-seq]}") |
| raw Python socket loop, sequential (floor) | $(printf %.0f "$raw") | ${rates[raw-seq]}| $(median <<<"${cpus[raw-seq]}") |
| raw Python socket loop with ids, sequential | $(printf %.0f "$raw_id") | ${rates[raw-id]}| $(median <<<"${cpus[raw-id]}") |
| Python qemu.qmp, sequential | $(printf %.0f "$lib") | ${rates[qemu.qmp]}| $(median <<<"${cpus[qemu.qmp]}") |
| Swift QMP module, 8 in flight | $(printf %.0f "$pipe") | ${rates[ours-pipe]}| $(median <<<"${cpus[ours-pipe]}") |
| Swift QMP module, sequential, reader-thread executor | $(printf %.0f "$seq_pinned") | ${rates[ours-seq-pinned]}| $(median <<<"${cpus[ours-seq-pinned]}") |
| Swift QMP module, 8 in flight, reader-thread executor | $(printf %.0f "$pipe_pinned") | ${rates[ours-pipe-pinned]}| $(median <<<"${cpus[ours-pipe-pinned]}") |

| goal | ratio | |
|---|---:|---|
| sequential >= 0.9x raw | $(ratio "$ours" "$raw")x | $(pass "$(ratio "$ours" "$raw")" 0.9) |
| sequential >= 0.9x raw with ids | $(ratio "$ours" "$raw_id")x | $(pass "$(ratio "$ours" "$raw_id")" 0.9) |
| sequential >= 1.6x qemu.qmp | $(ratio "$ours" "$lib")x | $(pass "$(ratio "$ours" "$lib")" 1.6) |
| pipelined > raw sequential | $(ratio "$pipe" "$raw")x | $(pass "$(ratio "$pipe" "$raw")" 1.0001) |
| sequential (reader-thread executor) >= 0.9x raw | $(ratio "$seq_pinned" "$raw")x | $(pass "$(ratio "$seq_pinned" "$raw")" 0.9) |
| pipelined (reader-thread executor) > raw sequential | $(ratio "$pipe_pinned" "$raw")x | $(pass "$(ratio "$pipe_pinned" "$raw")" 1.0001) |
MD

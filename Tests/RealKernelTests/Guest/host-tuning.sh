#!/bin/sh
# Runs inside the test-bed guest (two CPUs, its own kernel) as vmtest.run: this guest is the host
# whose cgroups and huge pages the real `vm` binary changes for a VM with [cpu] isolate, explicit
# pins and hugepages = "2M" (a QEMU of the nested overlay; its guest need not boot: the VM starts
# paused). It reports, the Swift tests judge (HostTuningTests). Never run on a real host.
#
# First on cgroup v1's cpuset hierarchy alone (v1/up, v1/down, v1/threads), then on cgroup v2.
# Each phase PHASE (v1/up, v1/down, up, down, qemu-killed, all-killed) reports, through rk-lib.sh's `run`:
#   PHASE/hugepages   nr_hugepages (2 MiB) now
#   PHASE/allowed     Cpus_allowed_list of a new host task (awk, a child of this script's shell)
#   PHASE/cgroups     the top-level cgroups named vm-*
#   PHASE/records     the host-change records in the VM's state folder
# and, while the VM runs, up/threads: "TID CPUS POLICY" for each QEMU thread (POLICY from
# /proc/PID/task/TID/stat: 0 SCHED_OTHER, 1 SCHED_FIFO), up/status: vm status --json, and
# up/host-cpus: vm host cpus.

. /usr/share/vmtest/rk-lib.sh

NAME=tune
export VM_HOME=/etc/vm VM_STATE_DIR=/var/lib/vm VM_RUNTIME_DIR=/run/vm
mkdir -p "$VM_HOME"
# The cgroup hierarchy the phases look at: v1's cpuset first (the v1 phase), then v2.
CG=/sys/fs/cgroup/cpuset
HP=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages

cat >"$VM_HOME/$NAME.toml" <<EOF
accelerator = "tcg"
memory = "128M"
hugepages = "2M"

[cpu]
model = "max"
cores = 1
isolate = true
realtime = true

[cpu.pin]
vcpus = [1]
emulator = [0]

[firmware]
type = "bios"

[network]
mode = "none"
EOF

# host PHASE: what the host looks like now.
host() {
	run "$1/hugepages" cat "$HP"
	run "$1/allowed" awk '/^Cpus_allowed_list/ { print $2 }' /proc/self/status
	run "$1/cgroups" sh -c "cd $CG && ls -d vm-* 2>/dev/null; true"
	run "$1/records" sh -c "cd $VM_STATE_DIR/$NAME 2>/dev/null && ls hugepages.json cpu-isolation.json 2>/dev/null; true"
	run "$1/meminfo" grep Huge /proc/meminfo
}

# supervisor: the pid of the VM's supervisor, from its run record.
supervisor() {
	sed -n 's/.*"supervisorPID" *: *\([0-9]*\).*/\1/p' "$VM_STATE_DIR/$NAME/run.json"
}

# gone PID SECONDS: waits until process PID is gone; non-zero on time-out.
gone() {
	n=$(($2 * 10))
	while [ -d "/proc/$1" ] && [ $n -gt 0 ]; do
		usleep 100000
		n=$((n - 1))
	done
	[ ! -d "/proc/$1" ]
}

# v1: cgroup v1's cpuset hierarchy only (an older host): up, what it changed, down.
mount -t tmpfs cgroup /sys/fs/cgroup
mkdir /sys/fs/cgroup/cpuset
mount -t cgroup -o cpuset cpuset /sys/fs/cgroup/cpuset
run v1/up "$VM" up "$NAME" --paused
host v1/up
QEMU=$(cat "$VM_RUNTIME_DIR/$NAME/qemu.pid" 2>/dev/null)
run v1/threads sh -c "for t in /proc/$QEMU/task/*; do echo \"\${t##*/} \$(awk '/^Cpus_allowed_list/ { print \$2 }' \$t/status)\"; done"
run v1/down "$VM" down "$NAME" --force
host v1/down
umount /sys/fs/cgroup/cpuset
umount /sys/fs/cgroup

# v2 from here on.
CG=/sys/fs/cgroup
grep -q '^cgroup2 /sys/fs/cgroup ' /proc/mounts || mount -t cgroup2 none /sys/fs/cgroup
host before

run up/up "$VM" up "$NAME" --paused
QEMU=$(cat "$VM_RUNTIME_DIR/$NAME/qemu.pid" 2>/dev/null)
host up
run up/threads sh -c "for t in /proc/$QEMU/task/*; do echo \"\${t##*/} \$(awk '/^Cpus_allowed_list/ { print \$2 }' \$t/status) \$(sed 's/.*) //' \$t/stat | cut -d' ' -f39)\"; done"
run up/status "$VM" status "$NAME" --json
run up/host-cpus "$VM" host cpus --vcpus 1
run down/down "$VM" down "$NAME" --force
host down

# QEMU killed: its supervisor undoes the changes.
run qemu-killed/up "$VM" up "$NAME" --paused
QEMU=$(cat "$VM_RUNTIME_DIR/$NAME/qemu.pid" 2>/dev/null)
SUPERVISOR=$(supervisor)
kill -9 "$QEMU"
run qemu-killed/supervisor-ended gone "$SUPERVISOR" 30
host qemu-killed

# QEMU and its supervisor killed (a crash of everything): the next vm command undoes them.
run all-killed/up "$VM" up "$NAME" --paused
QEMU=$(cat "$VM_RUNTIME_DIR/$NAME/qemu.pid" 2>/dev/null)
SUPERVISOR=$(supervisor)
kill -9 "$SUPERVISOR"
gone "$SUPERVISOR" 30
kill -9 "$QEMU"
gone "$QEMU" 30
host all-killed/left
run all-killed/down "$VM" down "$NAME"
host all-killed

echo RK-DONE

# Shell functions shared by the guest scripts of Tests/RealKernelTests (sourced; installed in the
# initramfs at /usr/share/vmtest/rk-lib.sh). Each prints RK- lines that GuestTranscript parses:
#   RK-OUT STEP <line>              a line the command printed on stdout
#   RK-ERR STEP <line>              a line the command printed on stderr
#   RK-EXIT STEP rc=N seconds=S     its exit status and run time (guest clock, /proc/uptime)
#   RK-FN STEP addr=ADDR driver=NAME|none override=VALUE group=N|none
#   RK-VFIO STEP group=N node=char|absent
#   RK-HOLDER STEP pid=N node=PATH comm=NAME   (or: RK-HOLDER STEP none, when there is no such node)

VM=/usr/bin/vm
D=/sys/bus/pci/devices

# run STEP CMD...: runs CMD and reports its stdout, stderr and exit status.
run() {
	step=$1
	shift
	t0=$(cut -d' ' -f1 /proc/uptime)
	"$@" >/tmp/rk.out 2>/tmp/rk.err
	rc=$?
	t1=$(cut -d' ' -f1 /proc/uptime)
	awk -v p="RK-OUT $step " '{ print p $0 }' /tmp/rk.out
	awk -v p="RK-ERR $step " '{ print p $0 }' /tmp/rk.err
	echo "RK-EXIT $step rc=$rc seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
}

driver_of() {
	l=$(readlink "$D/$1/driver" 2>/dev/null) && echo "${l##*/}" || echo none
}

group_of() {
	l=$(readlink "$D/$1/iommu_group" 2>/dev/null) && echo "${l##*/}" || echo none
}

# state STEP SLOT: every function of SLOT as the kernel sees it now, and its group's /dev/vfio node.
state() {
	g=none
	for f in "$D/$2".*; do
		a=${f##*/}
		g=$(group_of "$a")
		echo "RK-FN $1 addr=$a driver=$(driver_of "$a") override=$(cat "$f/driver_override" 2>/dev/null) group=$g"
	done
	if [ "$g" != none ]; then
		if [ -c "/dev/vfio/$g" ]; then node=char; else node=absent; fi
		echo "RK-VFIO $1 group=$g node=$node"
	fi
}

# drm_node SLOT: /dev/dri/cardN of the slot's display function, or nothing.
drm_node() {
	card=$(ls "$D/$1.0/drm" 2>/dev/null | grep '^card' | head -n1)
	[ -n "$card" ] && echo "/dev/dri/$card"
}

# sound_control_node SLOT: /dev/snd/controlCN of the slot's audio function, or nothing.
sound_control_node() {
	sound=$(ls "$D/$1.1/sound" 2>/dev/null | grep '^card' | head -n1)
	[ -n "$sound" ] && echo "/dev/snd/controlC${sound#card}"
}

# hold STEP NODE CMD...: a child holds NODE open while CMD runs (as `run STEP CMD...`); then the
# child goes. An empty NODE (the function has no such node) is reported as "none", CMD not run.
hold() {
	step=$1 node=$2
	shift 2
	if [ -z "$node" ]; then
		echo "RK-HOLDER $step none"
		return
	fi
	sleep 1000 <"$node" &
	holder=$!
	# Let the child open the node and become sleep (the shell's fork opens the redirect before it
	# execs) before vm scans /proc/*/fd.
	n=0
	while [ $n -lt 50 ] && { ! ls -l "/proc/$holder/fd" 2>/dev/null | grep -q " $node\$" ||
		[ "$(cat "/proc/$holder/comm" 2>/dev/null)" != sleep ]; }; do
		usleep 100000
		n=$((n + 1))
	done
	echo "RK-HOLDER $step pid=$holder node=$node comm=$(cat "/proc/$holder/comm")"
	run "$step" "$@"
	kill "$holder"
	wait "$holder" 2>/dev/null
}

# --- the second level (the nested suites); the script sets SERIAL, the second-level guest's serial
# log (and NAME and VM_STATE_DIR for progress).

# lines: how many lines the second-level serial log has now.
lines() { cat "$SERIAL" 2>/dev/null | wc -l; }

# l2_wait MARK PATTERN COUNT SECONDS: waits until COUNT lines after line MARK of the second-level
# serial log start with PATTERN, then prints the VMTEST- lines after MARK. Non-zero when they did
# not come (time-out, or QEMU gone).
l2_wait() {
	n=$(($4 * 2))
	# Nothing more arrives once no QEMU runs (vm up failed, or the VM ended).
	while [ "$(tail -n +$(($1 + 1)) "$SERIAL" 2>/dev/null | grep -c "^$2")" -lt "$3" ] && [ $n -gt 0 ] &&
		pidof qemu-system-x86_64 >/dev/null; do
		usleep 500000
		n=$((n - 1))
	done
	tail -n +$(($1 + 1)) "$SERIAL" 2>/dev/null | tr -d '\r' | grep '^VMTEST-'
	[ "$(tail -n +$(($1 + 1)) "$SERIAL" 2>/dev/null | grep -c "^$2")" -ge "$3" ]
}

# progress: every 60 s, how far the second level got (for failure messages; the tests ignore it):
# RK-PROGRESS uptime=S qemu=PIDS serial=<its last line> log=<QEMU's last line>.
progress() {
	while sleep 60; do
		echo "RK-PROGRESS uptime=$(cut -d' ' -f1 /proc/uptime) qemu=$(pidof qemu-system-x86_64)" \
			"serial=$(tail -n1 "$SERIAL" 2>/dev/null | tr -d '\r')" \
			"log=$(tail -n1 "$VM_STATE_DIR/$NAME/qemu.log" 2>/dev/null)"
	done
}

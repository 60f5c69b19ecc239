#!/bin/sh
# Runs inside the test-bed guest as vmtest.run (see docs/real-kernel.md): drives the real `vm`
# binary (/usr/bin/vm) against the guest kernel's real sysfs and prints RK- lines that
# Tests/RealKernelTests parse. It asserts nothing itself: it reports, the Swift tests judge.
#
# Kernel parameters read from /proc/cmdline:
#   rktest.slots=0000:00:03,0000:00:04   the stand-in GPU slots to move (each in turn)
#   rktest.cycles=N                      vfio-pci <-> host round trips per slot (default 1)
#   rktest.holder=1                      first try a bind while a process holds the display's
#                                        /dev/dri/cardN, then while one holds the audio's /dev/snd/controlCN
#
# Lines (one piece each):
#   RK-OUT STEP <line>              a line the command printed on stdout
#   RK-ERR STEP <line>              a line the command printed on stderr
#   RK-EXIT STEP rc=N seconds=S     its exit status and run time (guest clock, /proc/uptime)
#   RK-FN STEP addr=ADDR driver=NAME|none override=VALUE group=N|none
#   RK-VFIO STEP group=N node=char|absent
#   RK-HOLDER STEP pid=N node=PATH comm=NAME   (or: RK-HOLDER STEP none, when the function has no such node)
#   RK-DONE

VM=/usr/bin/vm
D=/sys/bus/pci/devices
SLOTS= CYCLES=1 HOLDER=0
for word in $(cat /proc/cmdline); do
	case $word in
	rktest.slots=*) SLOTS=$(echo "${word#*=}" | tr , ' ') ;;
	rktest.cycles=*) CYCLES=${word#*=} ;;
	rktest.holder=*) HOLDER=${word#*=} ;;
	esac
done

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

# hold STEP SLOT NODE: a child holds NODE open while `vm host bind SLOT vfio-pci` runs (it must refuse);
# then the child goes. An empty NODE (the function has no such node) is reported as "none".
hold() {
	if [ -z "$3" ]; then
		echo "RK-HOLDER $1 none"
		return
	fi
	sleep 1000 <"$3" &
	holder=$!
	# Let the child open the node before vm scans /proc/*/fd.
	n=0
	while [ $n -lt 50 ] && ! ls -l "/proc/$holder/fd" 2>/dev/null | grep -q " $3\$"; do
		usleep 100000
		n=$((n + 1))
	done
	echo "RK-HOLDER $1 pid=$holder node=$3 comm=$(cat "/proc/$holder/comm")"
	run "$1" "$VM" host bind "$2" vfio-pci
	state "$1" "$2"
	kill "$holder"
	wait "$holder" 2>/dev/null
}

run list-before "$VM" gpu list --json

for slot in $SLOTS; do
	state "$slot/before" "$slot"
	if [ "$HOLDER" = 1 ]; then
		card=$(ls "$D/$slot.0/drm" 2>/dev/null | grep '^card' | head -n1)
		hold "$slot/held-drm" "$slot" "${card:+/dev/dri/$card}"
		sound=$(ls "$D/$slot.1/sound" 2>/dev/null | grep '^card' | head -n1)
		hold "$slot/held-snd" "$slot" "${sound:+/dev/snd/controlC${sound#card}}"
	fi
	c=1
	while [ $c -le "$CYCLES" ]; do
		run "$slot/$c/vfio" "$VM" host bind "$slot" vfio-pci --json
		state "$slot/$c/vfio" "$slot"
		run "$slot/$c/list" "$VM" gpu list --json
		run "$slot/$c/host" "$VM" host bind "$slot" host --json
		state "$slot/$c/host" "$slot"
		c=$((c + 1))
	done
done

run list-after "$VM" gpu list --json
echo RK-DONE

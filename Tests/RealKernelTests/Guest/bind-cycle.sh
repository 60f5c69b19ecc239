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
# Lines: see rk-lib.sh, plus RK-DONE at the end.

. /usr/share/vmtest/rk-lib.sh

SLOTS= CYCLES=1 HOLDER=0
for word in $(cat /proc/cmdline); do
	case $word in
	rktest.slots=*) SLOTS=$(echo "${word#*=}" | tr , ' ') ;;
	rktest.cycles=*) CYCLES=${word#*=} ;;
	rktest.holder=*) HOLDER=${word#*=} ;;
	esac
done

run list-before "$VM" gpu list --json

for slot in $SLOTS; do
	state "$slot/before" "$slot"
	if [ "$HOLDER" = 1 ]; then
		hold "$slot/held-drm" "$(drm_node "$slot")" "$VM" host bind "$slot" vfio-pci
		state "$slot/held-drm" "$slot"
		hold "$slot/held-snd" "$(sound_control_node "$slot")" "$VM" host bind "$slot" vfio-pci
		state "$slot/held-snd" "$slot"
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

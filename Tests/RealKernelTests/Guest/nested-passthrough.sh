#!/bin/sh
# Runs inside the first-level test-bed guest (full kernel, virtual Intel IOMMU) as vmtest.run (see
# docs/real-kernel.md, "Nested passthrough"): this guest is the GPU host. The real `vm` binary starts
# a QEMU here whose guest (the second level: cloud kernel + test-bed initrd) gets two stand-in pairs
# through this kernel's vfio-pci: one plugged at boot (with rom = FILE), one plugged hot, in the same
# run (one second-level boot: it is the slow part). It reports, the Swift tests judge
# (NestedPassthroughTests).
#
# Kernel parameters read from /proc/cmdline:
#   nptest.boot=0000:00:03    the pair plugged at boot (its display function has an expansion ROM)
#   nptest.hot=0000:00:04     the pair plugged hot
#   nptest.cycles=N           hot attach/detach cycles (default 2)
#   nptest.selfoff=1          then a second VM, hot pair only, whose guest powers itself off after
#                             the attach (vmtest.poweroff_after_adds): no vm command gives the pair back
# Files from the overlay, under /usr/share/vmtest/l2/: kernel, initrd.gz, cmdline (one line).
#
# Lines: those of rk-lib.sh; the second-level guest's VMTEST- lines are the RK-OUT lines of the
# l2 steps (each prints what its serial log gained since a mark); RK-DONE at the end.

. /usr/share/vmtest/rk-lib.sh

BOOT=0000:00:03 HOT=0000:00:04 CYCLES=2 SELFOFF=0
for word in $(cat /proc/cmdline); do
	case $word in
	nptest.boot=*) BOOT=${word#*=} ;;
	nptest.hot=*) HOT=${word#*=} ;;
	nptest.cycles=*) CYCLES=${word#*=} ;;
	nptest.selfoff=*) SELFOFF=${word#*=} ;;
	esac
done
L2=/usr/share/vmtest/l2
NAME=nested
export VM_HOME=/etc/vm VM_STATE_DIR=/var/lib/vm VM_RUNTIME_DIR=/run/vm
mkdir -p "$VM_HOME"

# machine NAME [APPEND]: the start of a vm definition of the second-level guest: 128 MiB (vfio
# maps all of it through the virtual IOMMU: less is faster), APPEND added to its kernel command line.
machine() {
	printf 'accelerator = "tcg"\nmemory = "128M"\n\n[cpu]\nmodel = "max"\ncores = 1\n\n' >"$VM_HOME/$1.toml"
	printf '[firmware]\ntype = "bios"\n\n[boot]\nkernel = "%s"\ninitrd = "%s"\nappend = "%s"\n\n' \
		"$L2/kernel" "$L2/initrd.gz" "$(cat "$L2/cmdline") $2" >>"$VM_HOME/$1.toml"
	printf '[network]\nmode = "none"\n' >>"$VM_HOME/$1.toml"
}

# gpu NAME SLOT PLUG [ROM]: a [[gpu]] of NAME's definition (rom = ROM when not empty).
gpu() {
	{
		printf '\n[[gpu]]\naddress = "%s"\nplug = "%s"\n' "$2" "$3"
		[ -n "$4" ] && printf 'rom = "%s"\n' "$4"
	} >>"$VM_HOME/$1.toml"
}

# The second-level serial log the l2 steps read (of the VM that runs now).
SERIAL=$VM_STATE_DIR/$NAME/serial.log

# card STEP SLOT: the DRM card node of SLOT's display function when it is there now (RK-OUT STEP
# /dev/dri/cardN: the kernel names it in sysfs and the node exists), else nothing.
card() {
	node=$(drm_node "$2")
	[ -c "$node" ] || node=
	run "$1" echo "$node"
}

progress &
PROGRESS=$!

# --- before: both pairs on their host drivers; the boot pair's ROM read through sysfs ------------
state boot/before "$BOOT"
state hot/before "$HOT"
card boot/before-card "$BOOT"
card hot/before-card "$HOT"
# rom/dump prints the ROM's size, then its first 16 bytes in hex.
run rom/dump sh -c "echo 1 >$D/$BOOT.0/rom && cat $D/$BOOT.0/rom >/root/gpu.rom; rc=\$?; echo 0 >$D/$BOOT.0/rom
	wc -c </root/gpu.rom; od -An -tx1 -N16 /root/gpu.rom; exit \$rc"
rom=
[ -s /root/gpu.rom ] && rom=/root/gpu.rom
machine "$NAME"
gpu "$NAME" "$BOOT" boot "$rom"
gpu "$NAME" "$HOT" hot

# --- boot-plugged pair: bound, then the second-level guest starts with it ------------------------
run boot/bind "$VM" host bind "$BOOT" vfio-pci
state boot/bind "$BOOT"
run boot/up "$VM" up "$NAME"
run boot/l2-ready l2_wait 0 VMTEST-READY 1 2400
run boot/status "$VM" status "$NAME" --json
# The running QEMU's own command line (one argument a line).
run boot/qemu-argv sh -c 'tr "\000" "\n" </proc/$(pidof qemu-system-x86_64)/cmdline'

# --- hot pair: refused while a node is held, then attach/detach cycles -------------------------
mark=$(lines)
hold hot/held-drm "$(drm_node "$HOT")" "$VM" gpu attach "$NAME" --gpu 1
state hot/held-drm "$HOT"
hold hot/held-snd "$(sound_control_node "$HOT")" "$VM" gpu attach "$NAME" --gpu 1
state hot/held-snd "$HOT"
c=1
while [ $c -le "$CYCLES" ]; do
	run "hot/$c/attach" "$VM" gpu attach "$NAME" --gpu 1
	state "hot/$c/attach" "$HOT"
	# From the mark before the refusals on the first cycle: a refused attach must have added nothing.
	run "hot/$c/l2-add" l2_wait "$mark" VMTEST-PCI-ADD 2 600
	mark=$(lines)
	run "hot/$c/detach" "$VM" gpu detach "$NAME" --gpu 1
	state "hot/$c/detach" "$HOT"
	card "hot/$c/detach-card" "$HOT"
	run "hot/$c/l2-remove" l2_wait "$mark" VMTEST-PCI-REMOVE 2 600
	mark=$(lines)
	c=$((c + 1))
done

# --- the end: polite vm down, the boot pair back to its host drivers -----------------------------
run boot/down "$VM" down "$NAME" --timeout 600
run boot/l2-down l2_wait "$mark" VMTEST-POWEROFF 1 5
run boot/host "$VM" host bind "$BOOT" host
state boot/host "$BOOT"
card boot/host-card "$BOOT"

# --- the guest ends by itself with the hot pair in it: no vm command gives it back ---------------
# host_again SLOT SECONDS: waits until no function of SLOT is on vfio-pci or without a driver.
host_again() {
	n=$(($2 * 2))
	while [ $n -gt 0 ]; do
		ok=1
		for f in "$D/$1".*; do
			case $(driver_of "${f##*/}") in vfio-pci | none) ok=0 ;; esac
		done
		[ $ok = 1 ] && return 0
		usleep 500000
		n=$((n - 1))
	done
	return 1
}
if [ "$SELFOFF" = 1 ]; then
	NAME=selfoff
	SERIAL=$VM_STATE_DIR/$NAME/serial.log
	machine "$NAME" vmtest.poweroff_after_adds=2
	gpu "$NAME" "$HOT" hot
	run self/up "$VM" up "$NAME"
	run self/l2-ready l2_wait 0 VMTEST-READY 1 2400
	mark=$(lines)
	run self/attach "$VM" gpu attach "$NAME"
	state self/attach "$HOT"
	run self/l2-off l2_wait "$mark" "VMTEST-POWEROFF self" 1 600
	run self/returned host_again "$HOT" 120
	state self/returned "$HOT"
	card self/returned-card "$HOT"
	run self/status "$VM" status "$NAME" --json
fi
kill "$PROGRESS"
echo RK-DONE

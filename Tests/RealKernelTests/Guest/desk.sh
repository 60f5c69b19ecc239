#!/bin/sh
# Runs inside the first-level test-bed guest (full kernel, virtual Intel IOMMU) as vmtest.run (see
# docs/real-kernel.md, "The desk"): this guest is the desk's host. The real `vm` starts one VM here
# (the second level: the full kernel, whose xHCI and USB HID drivers the cloud kernel lacks, running
# Guest/desk-l2.sh) with
#   [[input]]               a uinput keyboard made here (evkey kbd), through QEMU's input-linux
#   [[usb]]                 the usb-storage device (46f4:0001) behind this machine's xHCI at 00:05.0
#   [[usb_host_controller]] the xHCI at 00:06.0 (a usb-kbd behind it), passed whole through vfio-pci
# One second-level boot serves every check. It reports, the Swift tests judge (NestedDeskTests).
#
# Kernel parameters read from /proc/cmdline:
#   desk.controller=0000:00:06.0   the xHCI passed whole
#   desk.usb=46f4:0001             the USB device passed with usb-host
# Files from the overlays: /usr/bin/evkey; under /usr/share/vmtest/l2/: kernel, initrd.gz (with
# desk-l2.sh in it), cmdline.
#
# Lines: those of rk-lib.sh; the second-level guest's VMTEST- lines are the RK-OUT lines of the
# l2 steps (what its serial log gained since a mark); RK-DONE at the end.

. /usr/share/vmtest/rk-lib.sh

CONTROLLER=0000:00:06.0 USBID=46f4:0001
for word in $(cat /proc/cmdline); do
	case $word in
	desk.controller=*) CONTROLLER=${word#*=} ;;
	desk.usb=*) USBID=${word#*=} ;;
	esac
done
L2=/usr/share/vmtest/l2
NAME=desk
export VM_HOME=/etc/vm VM_STATE_DIR=/var/lib/vm VM_RUNTIME_DIR=/run/vm
mkdir -p "$VM_HOME"
SERIAL=$VM_STATE_DIR/$NAME/serial.log

# usb_name VID:PID: the sysfs name (BUS-PORT) of the USB device with those ids here, or nothing.
usb_name() {
	for u in /sys/bus/usb/devices/*; do
		[ "$(cat "$u/idVendor" 2>/dev/null):$(cat "$u/idProduct" 2>/dev/null)" = "$1" ] && echo "${u##*/}" && return
	done
}

# wait_usb VID:PID SECONDS: waits until a USB device with those ids is here.
wait_usb() {
	n=$(($2 * 2))
	while [ -z "$(usb_name "$1")" ] && [ $n -gt 0 ]; do
		usleep 500000
		n=$((n - 1))
	done
	[ $n -gt 0 ]
}

# driver_is ADDR DRIVER SECONDS: waits until the PCI function is on DRIVER.
driver_is() {
	n=$(($3 * 2))
	while [ "$(driver_of "$1")" != "$2" ] && [ $n -gt 0 ]; do
		usleep 500000
		n=$((n - 1))
	done
	[ $n -gt 0 ]
}

# usb_list STEP: every USB device here (not the root hubs) as RK-OUT lines "NAME VID:PID".
usb_list() {
	for u in /sys/bus/usb/devices/*; do
		v=$(cat "$u/idVendor" 2>/dev/null) || continue
		[ "$v" = 1d6b ] || echo "${u##*/} $v:$(cat "$u/idProduct")"
	done
}

# keys STEP SECONDS CODE...: a reader here watches the keyboard for SECONDS while the codes are
# typed on it; RK-OUT STEP lines are what this reader received ("key CODE VALUE").
keys() {
	step=$1 seconds=$2
	shift 2
	evkey watch "$KBD" "$seconds" key >/tmp/keys.out 2>&1 &
	watcher=$!
	usleep 500000
	for code in "$@"; do echo "$code" >&3; done
	wait "$watcher"
	run "$step" cat /tmp/keys.out
}

progress &
PROGRESS=$!

# --- the keyboard: a uinput device, named in /dev/input/by-id as udev would --------------------
mkfifo /tmp/kbd.in
evkey kbd vmtest-kbd </tmp/kbd.in >/tmp/kbd.dev 2>&1 &
TYPIST=$!
exec 3>/tmp/kbd.in
n=0
while [ ! -s /tmp/kbd.dev ] && [ $n -lt 50 ]; do usleep 100000; n=$((n + 1)); done
KBD=$(head -n1 /tmp/kbd.dev)
mkdir -p /dev/input/by-id
ln -s "../${KBD##*/}" /dev/input/by-id/virtual-vmtest-kbd-event-kbd
run input/device sh -c "echo $KBD; cat /sys/class/input/${KBD##*/}/device/name"
run input/list "$VM" input list
# Before the VM: a reader here receives what is typed, and can grab the device.
keys input/host-before 3 30 48
run input/grab-before evkey grab "$KBD"

# --- the USB devices and the controller as this machine has them -------------------------------
# xHCI enumerates in the background after boot.
run usb/enumerated wait_usb "$USBID" 30
run usb/before usb_list
USBDEV=$(usb_name "$USBID")
run usb/name echo "$USBDEV"
state controller/before "${CONTROLLER%.*}"
run controller/list "$VM" usb controllers --json

# --- the VM -------------------------------------------------------------------------------------
{
	printf 'accelerator = "tcg"\nmemory = "192M"\n\n[cpu]\nmodel = "max"\ncores = 1\n\n'
	printf '[firmware]\ntype = "bios"\n\n[boot]\nkernel = "%s"\ninitrd = "%s"\nappend = "%s"\n\n' \
		"$L2/kernel" "$L2/initrd.gz" \
		"$(cat "$L2/cmdline") vmtest.hostdrivers=0 vmtest.modules=xhci_pci,usbhid,hid_generic,virtio_input vmtest.run=/usr/share/vmtest/desk-l2.sh"
	printf '[network]\nmode = "none"\n\n'
	printf '[[input]]\npath = "/dev/input/by-id/virtual-vmtest-kbd-event-kbd"\ngrab_all = true\n\n'
	printf '[[usb]]\ndevice = "%s"\n\n' "$USBID"
	printf '[[usb_host_controller]]\naddress = "%s"\n' "$CONTROLLER"
} >"$VM_HOME/$NAME.toml"
run desk/up "$VM" up "$NAME"
state controller/up "${CONTROLLER%.*}"
run desk/qemu-argv sh -c 'tr "\000" "\n" </proc/$(pidof qemu-system-x86_64)/cmdline'
run desk/l2-ready l2_wait 0 VMTEST-DESK-READY 1 2400
# The USB devices behind the passed controller enumerate after the watchers start.
run desk/l2-usb l2_wait 0 VMTEST-USB-ADD 2 300

# --- input: grabbed here, typed keys arrive in the second level ----------------------------------
run input/grab-up evkey grab "$KBD"
mark=$(lines)
keys input/host-up 4 30 48
run input/l2-keys l2_wait "$mark" VMTEST-KEY 4 120

# --- usb-host: the [[usb]] device out, in again by BUS-PORT, out again --------------------------
mark=$(lines)
run usb/detach "$VM" usb detach "$NAME" "$USBID"
run usb/l2-remove l2_wait "$mark" VMTEST-USB-REMOVE 1 300
mark=$(lines)
run usb/attach "$VM" usb attach "$NAME" "$USBDEV"
run usb/l2-add l2_wait "$mark" VMTEST-USB-ADD 1 300
mark=$(lines)
run usb/detach-port "$VM" usb detach "$NAME" "$USBDEV"
run usb/l2-remove-port l2_wait "$mark" VMTEST-USB-REMOVE 1 300

# --- the end: polite vm down; the controller and the keyboard back ------------------------------
mark=$(lines)
run desk/down "$VM" down "$NAME" --timeout 600
run desk/l2-down l2_wait "$mark" VMTEST-POWEROFF 1 5
state controller/down "${CONTROLLER%.*}"
# The keyboard behind the controller enumerates here again once xhci_hcd has it back.
run usb/after-kbd wait_usb 0627:0001 30
run usb/after usb_list
run input/grab-down evkey grab "$KBD"
keys input/host-down 3 30

# --- QEMU killed with the controller in it: the supervisor gives it back (no guest boot needed) ----
run controller/paused-up "$VM" up "$NAME" --paused
state controller/paused "${CONTROLLER%.*}"
run controller/kill sh -c 'kill -9 $(pidof qemu-system-x86_64)'
run controller/returned driver_is "$CONTROLLER" xhci_hcd 60
state controller/returned "${CONTROLLER%.*}"
run controller/record ls "$VM_STATE_DIR/$NAME/usb-controllers.json"
exec 3>&-
wait "$TYPIST"
kill "$PROGRESS"
echo RK-DONE

#!/bin/sh
# Runs inside the second-level guest of the desk suite (full kernel: xHCI, USB HID) as vmtest.run
# (docs/real-kernel.md, "The desk"). It only reports, on its serial console, which the first level
# reads as the VM's serial log:
#   VMTEST-INPUT-ADD eventN name=NAME        an evdev device (those present first, then new ones)
#   VMTEST-KEY eventN CODE VALUE             a key event on a keyboard's evdev node (1 press, 0 release)
#   VMTEST-USB-ADD NAME VID:PID pci=ADDR     a USB device (not a root hub) and the PCI function of
#                                            its host controller
#   VMTEST-USB-REMOVE NAME
#   VMTEST-USBHC ADDR VID:DEV driver=NAME    a USB host controller (class 0x0c03) and its driver
#   VMTEST-DESK-READY                        the watchers run
# It never ends by itself (the guest powers off through its ACPI button on `vm down`).

D=/sys/bus/usb/devices

# usb_line NAME: "NAME VID:PID pci=ADDR" for a USB device other than a root hub, else nothing.
usb_line() {
	v=$(cat "$D/$1/idVendor" 2>/dev/null) || return 1
	p=$(cat "$D/$1/idProduct" 2>/dev/null) || return 1
	[ "$v" = 1d6b ] && return 1
	pci=$(readlink -f "$D/$1" | tr / '\n' | grep -E '^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$' | tail -n1)
	echo "$1 $v:$p pci=$pci"
}

# watch_keys EVENT: key events of /dev/input/EVENT as VMTEST-KEY lines, in the background, when
# the device has keys (bit 1, EV_KEY, of its event types).
watch_keys() {
	case $(cat "/sys/class/input/$1/device/capabilities/ev" 2>/dev/null) in
	*[2367abef]) evkey watch "/dev/input/$1" 0 "VMTEST-KEY $1" & ;;
	esac
}

seen_input=" "
seen_usb=" "
scan() {
	for e in $(ls /sys/class/input 2>/dev/null | grep '^event'); do
		case $seen_input in *" $e "*) continue ;; esac
		echo "VMTEST-INPUT-ADD $e name=$(cat "/sys/class/input/$e/device/name" 2>/dev/null)"
		seen_input="$seen_input$e "
		watch_keys "$e"
	done
	now=" "
	for u in $(ls "$D" 2>/dev/null); do
		line=$(usb_line "$u") || continue
		now="$now$u "
		case $seen_usb in *" $u "*) ;; *) echo "VMTEST-USB-ADD $line" ;; esac
	done
	for u in $seen_usb; do
		case $now in *" $u "*) ;; *) echo "VMTEST-USB-REMOVE $u" ;; esac
	done
	seen_usb=$now
}

for f in /sys/bus/pci/devices/*; do
	case $(cat "$f/class") in
	0x0c03*)
		l=$(readlink "$f/driver" 2>/dev/null)
		echo "VMTEST-USBHC ${f##*/} $(sed 's/^0x//' "$f/vendor"):$(sed 's/^0x//' "$f/device") driver=${l##*/}"
		;;
	esac
done
scan
echo VMTEST-DESK-READY
while :; do
	usleep 300000
	scan
done

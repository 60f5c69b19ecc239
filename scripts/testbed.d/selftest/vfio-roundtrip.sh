#!/bin/sh
# Runs inside the test-bed guest (vmtest.run=...): shows the IOMMU groups, moves the stand-in
# pair (bochs-display 1234:1111 at function 0 + its function 1) to vfio-pci, checks /dev/vfio/N,
# then gives both functions back to the drivers they had (none on the cloud kernel).

dev_path() { echo "/sys/bus/pci/devices/$1"; }

find_display() {
	for d in /sys/bus/pci/devices/*; do
		if [ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1234:0x1111 ]; then
			echo "${d##*/}"
			return 0
		fi
	done
	return 1
}

driver_of() {
	l=$(readlink "$(dev_path "$1")/driver" 2>/dev/null) && echo "${l##*/}" || echo none
}

# rebind DEV OVERRIDE: driver_override + unbind + drivers_probe (OVERRIDE "" clears it).
rebind() {
	echo "$2" >"$(dev_path "$1")/driver_override"
	[ -e "$(dev_path "$1")/driver" ] && echo "$1" >"$(dev_path "$1")/driver/unbind"
	echo "$1" >/sys/bus/pci/drivers_probe
}

disp=$(find_display) || { echo "no bochs-display in the guest"; exit 1; }
audio=${disp%.*}.1
[ -e "$(dev_path "$audio")" ] || { echo "no function 1 beside $disp"; exit 1; }

echo "iommu groups: $(ls /sys/kernel/iommu_groups | tr '\n' ' ')"
g=$(readlink "$(dev_path "$disp")/iommu_group") || { echo "$disp has no IOMMU group"; exit 1; }
g=${g##*/}
echo "group $g: $(ls "/sys/kernel/iommu_groups/$g/devices" | tr '\n' ' ')"

orig_disp=$(driver_of "$disp")
orig_audio=$(driver_of "$audio")
echo "host drivers: $disp=$orig_disp $audio=$orig_audio"

rebind "$disp" vfio-pci
rebind "$audio" vfio-pci
echo "after bind: $disp=$(driver_of "$disp") $audio=$(driver_of "$audio")"
[ "$(driver_of "$disp")" = vfio-pci ] && [ "$(driver_of "$audio")" = vfio-pci ] || exit 2
[ -c "/dev/vfio/$g" ] || { echo "no /dev/vfio/$g"; exit 3; }
echo "/dev/vfio/$g present"

rebind "$disp" ""
rebind "$audio" ""
echo "after unbind: $disp=$(driver_of "$disp") $audio=$(driver_of "$audio")"
[ "$(driver_of "$disp")" = "$orig_disp" ] && [ "$(driver_of "$audio")" = "$orig_audio" ] || exit 4
echo "round trip ok"

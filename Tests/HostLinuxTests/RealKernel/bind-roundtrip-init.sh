#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /mods/order); do insmod /mods/$m.ko 2>/dev/null || echo "insmod $m failed"; done
sleep 1
D=/sys/bus/pci/devices
echo "=== before"; /usr/bin/vm gpu list
CARD=$(ls $D/0000:00:03.0/drm | grep '^card' | head -1); echo "card node: $CARD"
sleep 1000 < /dev/dri/$CARD &
HOLDER=$!
echo "=== bind with holder $HOLDER"; /usr/bin/vm host bind 0000:00:03 vfio-pci; echo "rc=$?"
kill $HOLDER; sleep 1
echo "=== bind vfio"; /usr/bin/vm host bind 0000:00:03 vfio-pci --json; echo "rc=$?"
ls /dev/vfio
/usr/bin/vm gpu list | grep -A3 '^0000:00:03'
echo "=== back to host"; /usr/bin/vm host bind 0000:00:03 host; echo "rc=$?"
readlink $D/0000:00:03.0/driver; readlink $D/0000:00:03.1/driver; cat $D/0000:00:03.0/driver_override
echo "=== second cycle"; /usr/bin/vm host bind 0000:00:03 vfio-pci && /usr/bin/vm host bind 0000:00:03 host; echo "rc=$?"
echo DONE
poweroff -f

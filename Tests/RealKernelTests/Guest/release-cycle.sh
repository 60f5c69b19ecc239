#!/bin/sh
# Runs inside the test-bed guest (full kernel) as vmtest.run: `[[gpu]] host = "release"` over the
# stand-in pair at 0000:00:03, whose bochs-drm card carries fbcon (a vtconsole bound to /dev/fb0).
# A stand-in display manager (Guest: /tmp/rel/desk) holds the card's /dev/dri/cardN while it runs;
# a stand-in QEMU (VM_QEMU) reports what the kernel shows while the GPU is released. It asserts
# nothing itself: it reports RK- lines (rk-lib.sh, plus RK-VT, RK-FB, RK-DESK), the Swift test judges.
#
#   up/*        `vm up` whose QEMU fails: the release, then the way back at once
#   crash/*     `vm up` whose QEMU waits; `kill -9` of vm, its supervisor and QEMU; `vm gpu recover`
#               (without the stand-in desktop: display_manager = "none").
#   down/*      a real QEMU (from the nested bed's overlay) runs the VM paused with the pair through
#               vfio-pci; `vm down` gives it back.
#   ended/*     the same, then QEMU is killed with no vm command running: the supervisor gives it back.
#   hot/*       plug = "hot": `vm up` of a VM whose own guest (the second level) boots leaves the
#               card to the host; `vm gpu attach` releases it and plugs it into the running guest,
#               which reports it (l2-add); `vm gpu detach` unplugs it (l2-remove) and gives it back.
#   hotend/*    attached again, then the guest powers itself off with no vm command running: the
#               supervisor gives it back.
#   hotkill/*   a paused VM (no guest of its own), attached, then QEMU is killed: the supervisor.
#   hotdown/*   a paused VM, attached, then `vm down`.
#   hotcrash/*  the same, then `kill -9` of vm's supervisor and QEMU; `vm gpu recover`.

. /usr/share/vmtest/rk-lib.sh

SLOT=0000:00:03
R=/tmp/rel
mkdir -p $R

cat >$R/desk <<'EOF'
#!/bin/sh
case $1 in
start)
	card=$(ls /sys/bus/pci/devices/0000:00:03.0/drm | grep '^card' | head -n1)
	sleep 100000 </dev/dri/$card >/dev/null 2>&1 &
	echo $! >/tmp/rel/desk.pid ;;
stop)
	# SIGKILL: the guest's init scripts leave SIGTERM ignored in their children.
	kill -9 "$(cat /tmp/rel/desk.pid)"
	rm -f /tmp/rel/desk.pid ;;
esac
EOF

cat >$R/qemu <<'EOF'
#!/bin/sh
. /usr/share/vmtest/rk-lib.sh
. /tmp/rel/show.sh
echo $$ >/tmp/rel/qemu.pid
show "$(cat /tmp/rel/step)" >/tmp/rel/seen.tmp
mv /tmp/rel/seen.tmp /tmp/rel/seen
[ -e /tmp/rel/hang ] && exec sleep 100000
exit 1
EOF

cat >$R/show.sh <<'EOF'
# show STEP: the slot's functions, every vtconsole, fb0, the stand-in desktop.
show() {
	state "$1" 0000:00:03
	for v in /sys/class/vtconsole/vtcon*; do
		echo "RK-VT $1 ${v##*/} bind=$(cat "$v/bind") fb=$(grep -c 'frame buffer' "$v/name")"
	done
	if [ -c /dev/fb0 ]; then echo "RK-FB $1 fb0=char"; else echo "RK-FB $1 fb0=absent"; fi
	if [ -e /tmp/rel/desk.pid ] && kill -0 "$(cat /tmp/rel/desk.pid)" 2>/dev/null; then
		echo "RK-DESK $1 running"
	else
		echo "RK-DESK $1 stopped"
	fi
}
EOF
chmod +x $R/desk $R/qemu
. $R/show.sh

cat >$R/solo.toml <<EOF
accelerator = "tcg"
memory = "128M"
[firmware]
type = "bios"
[network]
mode = "none"
[[gpu]]
address = "$SLOT"
host = "release"
display_manager_stop = ["$R/desk", "stop"]
display_manager_start = ["$R/desk", "start"]
holder_timeout = 5
EOF

sed -e '/^display_manager_/d' -e 's/^holder_timeout = 5$/display_manager = "none"/' $R/solo.toml >$R/bare.toml

export VM_QEMU=$R/qemu

$R/desk start
show before

run plan "$VM" gpu release-plan $R/solo.toml

# up: QEMU fails; vm up gives everything back before it returns.
echo up/released >$R/step
run up/run "$VM" up $R/solo.toml
cat $R/seen
rm -f $R/seen
show up/after

# crash: QEMU waits; everything of vm is killed mid-run; vm gpu recover gives it back.
$R/desk stop
for p in $(pidof sleep); do kill -9 "$p"; done
echo crash/released >$R/step
touch $R/hang
"$VM" up $R/bare.toml >$R/up2.out 2>&1 &
n=0
while [ $n -lt 600 ] && [ ! -e $R/seen ]; do usleep 100000; n=$((n + 1)); done
cat $R/seen
ps -o pid,ppid,stat,args | grep -v '\[' | awk '{ print "RK-OUT crash/ps " $0 }'
for p in $(pidof vm) $(pidof vm-supervisor) $(cat $R/qemu.pid); do kill -9 "$p"; done
usleep 500000
awk '{ print "RK-OUT crash/up " $0 }' $R/up2.out
show crash/killed
run crash/recover "$VM" gpu recover $R/bare.toml
show crash/after

# down: a real QEMU (the nested bed's overlay) runs the VM paused, with the pair through this
# kernel's vfio-pci; vm down gives everything back.
$R/desk start
run down/up env -u VM_QEMU "$VM" up $R/solo.toml --paused
show down/released
run down/down env -u VM_QEMU "$VM" down $R/solo.toml --force
show down/after

# back_on_host: waits (at most 60 s) until the card left vfio-pci and the desktop runs again.
back_on_host() {
	n=0
	while [ $n -lt 600 ] && { [ "$(driver_of $SLOT.0)" = vfio-pci ] || [ ! -e /tmp/rel/desk.pid ]; }; do usleep 100000; n=$((n + 1)); done
	usleep 500000
}

# ended: QEMU ends with no vm command running (killed); its supervisor gives everything back.
run ended/up env -u VM_QEMU "$VM" up $R/solo.toml --paused
show ended/released
kill -9 $(pidof qemu-system-x86_64)
back_on_host
show ended/after

# hot: the same card plugged while the VM runs. The VM's own guest (the second level: the cloud
# kernel and the test-bed initrd from the nested overlay) runs and reports the card arriving at
# vm gpu attach and leaving at vm gpu detach (pciehp).
L2=/usr/share/vmtest/l2
{
	printf 'accelerator = "tcg"\nmemory = "128M"\n[cpu]\nmodel = "max"\ncores = 1\n[firmware]\ntype = "bios"\n'
	printf '[boot]\nkernel = "%s"\ninitrd = "%s"\nappend = "%s"\n[network]\nmode = "none"\n' "$L2/kernel" "$L2/initrd.gz" "$(cat $L2/cmdline) vmtest.poweroff_after_adds=4"
	sed -n '/^\[\[gpu\]\]/,$p' $R/solo.toml
	echo 'plug = "hot"'
} >$R/hot.toml
# The same, started paused with no guest of its own (hotdown, hotcrash): QEMU takes the card all the same.
awk '{ print } /^host = "release"$/ { print "plug = \"hot\"" }' $R/solo.toml >$R/hotp.toml

SERIAL=/var/lib/vm/hot/serial.log

run hot/up env -u VM_QEMU "$VM" up $R/hot.toml
show hot/up
run hot/l2-ready l2_wait 0 VMTEST-READY 1 1200
run hot/plan "$VM" gpu attach $R/hot.toml --dry-run
mark=$(lines)
run hot/attach "$VM" gpu attach $R/hot.toml
show hot/attached
run hot/status "$VM" status $R/hot.toml --json
run hot/l2-add l2_wait "$mark" VMTEST-PCI-ADD 2 600
mark=$(lines)
run hot/detach "$VM" gpu detach $R/hot.toml
show hot/detached
run hot/l2-remove l2_wait "$mark" VMTEST-PCI-REMOVE 2 600
run hot/status-detached "$VM" status $R/hot.toml --json

# hotend: attached again; the guest powers itself off once it saw the card arrive a second time
# (vmtest.poweroff_after_adds=4), with no vm command running: the supervisor gives it back.
mark=$(lines)
run hotend/attach "$VM" gpu attach $R/hot.toml
show hotend/attached
run hotend/l2-off l2_wait "$mark" "VMTEST-POWEROFF self" 1 600
back_on_host
show hotend/after

# hotkill: a paused VM (no guest of its own), attached, then QEMU killed with no vm command running.
run hotkill/up env -u VM_QEMU "$VM" up $R/hotp.toml --paused
run hotkill/attach "$VM" gpu attach $R/hotp.toml
show hotkill/attached
kill -9 $(pidof qemu-system-x86_64)
back_on_host
show hotkill/after

# hotdown: a new run, attached, then vm down.
run hotdown/up env -u VM_QEMU "$VM" up $R/hotp.toml --paused
run hotdown/attach "$VM" gpu attach $R/hotp.toml
show hotdown/attached
run hotdown/down "$VM" down $R/hotp.toml --force
show hotdown/after

# hotcrash: a new run, attached, then kill -9 of vm's supervisor and QEMU; vm gpu recover.
run hotcrash/up env -u VM_QEMU "$VM" up $R/hotp.toml --paused
run hotcrash/attach "$VM" gpu attach $R/hotp.toml
show hotcrash/attached
for p in $(pidof vm) $(pidof vm-supervisor) $(pidof qemu-system-x86_64); do kill -9 "$p"; done
usleep 500000
show hotcrash/killed
run hotcrash/recover "$VM" gpu recover $R/hotp.toml
show hotcrash/after

echo RK-DONE

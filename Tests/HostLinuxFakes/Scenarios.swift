import Foundation
import HostLinux

/// Fake hosts used across the tests.
public enum Scenarios {
    public static let nvidia: UInt16 = 0x10de
    public static let ampere3090Ti: UInt16 = 0x2203
    public static let ampereAudio: UInt16 = 0x1aef

    /// What every host in the tests has: a kernel with VFIO modules, /dev/kvm, OVMF, grub, initramfs-tools,
    /// an NVMe boot disk (0000:3d:00.0, group 12) and a wired NIC with the default route (0000:02:00.0, group 14).
    public static func baseHost(_ tree: FakeHostTree, vendor: FakeHostTree.Vendor = .intel, iommu: Bool = true, cmdline: String = "BOOT_IMAGE=/boot/vmlinuz-6.1.0-28-amd64 root=/dev/nvme0n1p2 ro quiet") throws {
        try tree.cpu(vendor, flags: ["fpu", "vme", "de", "pse", vendor == .intel ? "vmx" : "svm", "sse2"])
        try tree.cmdline(cmdline)
        try tree.grub()
        try tree.kernelRelease(modules: ["drivers/vfio/vfio", "drivers/vfio/vfio_iommu_type1", "drivers/vfio/pci/vfio-pci"])
        try tree.file("/dev/kvm", "")
        try tree.file("/usr/share/OVMF/OVMF_CODE_4M.fd", "code")
        try tree.file("/usr/share/OVMF/OVMF_VARS_4M.fd", "vars")
        try tree.file("/etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n")
        try tree.file("/etc/initramfs-tools/modules", "# List of modules that you want to include in your initramfs.\n")
        try tree.directory("/etc/modprobe.d")
        try tree.file("/proc/meminfo", "MemTotal:       65536000 kB\nHugePages_Total:       0\nHugePages_Free:        0\nHugepagesize:       2048 kB\n")
        try tree.device("0000:3d:00.0", vendor: 0x144d, device: 0xa80a, classCode: 0x010802, driver: "nvme", group: iommu ? 12 : nil, parent: "pci0000:00/0000:00:1d.0")
        try tree.directory("/sys/devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0/nvme0n1/nvme0n1p2")
        try tree.symlink("/sys/class/block/nvme0n1p2", to: "/sys/devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0/nvme0n1/nvme0n1p2")
        try tree.file("/proc/mounts", "sysfs /sys sysfs rw 0 0\n/dev/nvme0n1p2 / ext4 rw,relatime 0 0\ntmpfs /run tmpfs rw 0 0\n")
        try tree.device("0000:02:00.0", vendor: 0x8086, device: 0x1533, classCode: 0x020000, driver: "igb", group: iommu ? 14 : nil, parent: "pci0000:00/0000:00:1c.2")
        try tree.directory("/sys/devices/pci0000:00/0000:00:1c.2/0000:02:00.0/net/enp2s0")
        try tree.symlink("/sys/class/net/enp2s0", to: "/sys/devices/pci0000:00/0000:00:1c.2/0000:02:00.0/net/enp2s0")
        try tree.symlink("/sys/devices/pci0000:00/0000:00:1c.2/0000:02:00.0/net/enp2s0/device", to: "/sys/devices/pci0000:00/0000:00:1c.2/0000:02:00.0")
        try tree.file("/proc/net/route", "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
            + "enp2s0\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
            + "enp2s0\t0002A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n")
        try tree.device("0000:00:14.0", vendor: 0x8086, device: 0x7ae0, classCode: 0x0c0330, driver: "xhci_hcd", group: iommu ? 5 : nil)
        try tree.driver("vfio-pci")
        try tree.loadedModule("vfio_pci")
        try tree.file("/usr/share/misc/pci.ids", """
        # pci.ids excerpt for tests
        1002  Advanced Micro Devices, Inc. [AMD/ATI]
        \t73bf  Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]
        \tab28  Navi 21/23 HDMI/DP Audio Controller
        10de  NVIDIA Corporation
        \t1aef  GA102 High Definition Audio Controller
        \t2203  GA102 [GeForce RTX 3090 Ti]
        \t\t1043 87b4  ROG Strix RTX 3090 Ti
        1022  Advanced Micro Devices, Inc. [AMD]
        \t149c  Matisse USB 3.0 Host Controller
        8086  Intel Corporation
        \t4680  AlderLake-S GT1
        C 03  Display controller
        \t00  VGA compatible controller

        """)
    }

    /// An NVIDIA GPU pair (display + HDMI audio) at `slot`, in `group`, with a root-port bridge in the same group.
    public static func rtx3090Ti(_ tree: FakeHostTree, slot: String, group: Int?, bootVGA: Bool, rootPort: String) throws {
        try tree.device(rootPort, vendor: 0x8086, device: 0x7a44, classCode: 0x060400, driver: "pcieport", group: group)
        try tree.device(slot + ".0", vendor: nvidia, device: ampere3090Ti, classCode: 0x030000, subsystem: (0x1043, 0x87b4),
                        driver: "nvidia", group: group, bootVGA: bootVGA, parent: "pci0000:00/" + rootPort)
        try tree.device(slot + ".1", vendor: nvidia, device: ampereAudio, classCode: 0x040300, subsystem: (0x1043, 0x87b4),
                        driver: "snd_hda_intel", group: group, parent: "pci0000:00/" + rootPort)
    }

    /// The seed's host: two identical RTX 3090 Ti at 01:00 (group 17, boot display) and 05:00 (group 20).
    public static func twoIdentical3090Ti() throws -> FakeHostTree {
        let tree = try FakeHostTree()
        try baseHost(tree)
        try rtx3090Ti(tree, slot: "0000:01:00", group: 17, bootVGA: true, rootPort: "0000:00:01.0")
        try rtx3090Ti(tree, slot: "0000:05:00", group: 20, bootVGA: false, rootPort: "0000:00:1c.4")
        return tree
    }

    /// An AMD host: a Radeon RX 6800 at 0a:00 whose group 12... holds a USB controller; an NVIDIA card at 0b:00 alone.
    public static func amdHost() throws -> FakeHostTree {
        let tree = try FakeHostTree()
        try baseHost(tree, vendor: .amd, cmdline: "BOOT_IMAGE=/boot/vmlinuz root=/dev/nvme0n1p2 ro quiet amd_iommu=on")
        try tree.device("0000:0a:00.0", vendor: 0x1002, device: 0x73bf, classCode: 0x030000, driver: "amdgpu", group: 30, bootVGA: true)
        try tree.device("0000:0a:00.1", vendor: 0x1002, device: 0xab28, classCode: 0x040300, driver: "snd_hda_intel", group: 30)
        try tree.device("0000:0c:00.3", vendor: 0x1022, device: 0x149c, classCode: 0x0c0330, driver: "xhci_hcd", group: 30)
        try rtx3090Ti(tree, slot: "0000:0b:00", group: 31, bootVGA: false, rootPort: "0000:00:03.1")
        return tree
    }

    /// An Intel host with the IOMMU off: an Intel iGPU (boot display) and one RTX 3090 Ti.
    public static func intelIOMMUOff() throws -> FakeHostTree {
        let tree = try FakeHostTree()
        try baseHost(tree, iommu: false)
        try tree.device("0000:00:02.0", vendor: 0x8086, device: 0x4680, classCode: 0x030000, driver: "i915", bootVGA: true)
        try rtx3090Ti(tree, slot: "0000:01:00", group: nil, bootVGA: false, rootPort: "0000:00:01.0")
        return tree
    }
}

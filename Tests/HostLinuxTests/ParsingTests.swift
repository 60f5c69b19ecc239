import Foundation
import HostLinux
import Testing
import VMCore

@Suite struct ParsingTests {
    @Test func vmeAloneIsNotVirtualization() {
        let cpu = CPUFlags.parse(cpuinfo: "vendor_id\t: GenuineIntel\nflags\t\t: fpu vme de pse tsc msr\n")
        #expect(cpu.vendor == .intel)
        #expect(cpu.flags.contains("vme"))
        #expect(!cpu.hasHardwareVirtualization)
    }

    @Test func vmxAndSvmAreWholeFlags() {
        #expect(CPUFlags.parse(cpuinfo: "vendor_id : GenuineIntel\nflags : fpu vme vmx ept\n").hasHardwareVirtualization)
        let amd = CPUFlags.parse(cpuinfo: "vendor_id : AuthenticAMD\nflags : fpu svm npt\n")
        #expect(amd.vendor == .amd && amd.hasHardwareVirtualization)
        #expect(!CPUFlags.parse(cpuinfo: "vendor_id : AuthenticAMD\nflags : fpu svmx vmxon\n").hasHardwareVirtualization)
    }

    @Test("the first processor's vendor and flags count, whatever blanks pad them")
    func firstProcessorOfPaddedCPUInfo() {
        let cpuinfo = "processor\t: 0\nvendor_id\t:  AuthenticAMD \t\nflags\t\t: fpu svm topoext \n\n"
            + "processor\t: 1\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vmx\n"
        let cpu = CPUFlags.parse(cpuinfo: cpuinfo)
        #expect(cpu.vendor == .amd)
        #expect(cpu.flags == ["fpu", "svm", "topoext"])
        #expect(CPUFlags.parse(cpuinfo: "vendor_id : Unknown\n").vendor == .other)
        #expect(CPUFlags.parse(cpuinfo: "").flags.isEmpty)
    }

    @Test func kernelCommandLineQuotesAndValues() {
        let line = KernelCommandLine.parse("BOOT_IMAGE=/vmlinuz root=UUID=1 ro quiet acpi_osi=\"Windows 2020\" intel_iommu=on\n")
        #expect(line.arguments == ["BOOT_IMAGE=/vmlinuz", "root=UUID=1", "ro", "quiet", "acpi_osi=Windows 2020", "intel_iommu=on"])
        #expect(line.value(of: "intel_iommu") == "on")
        #expect(line.value(of: "quiet") == "")
        #expect(line.value(of: "amd_iommu") == nil)
    }

    @Test func pciIDsVendorsAndDevices() {
        let text = "# comment\n10de  NVIDIA Corporation\n\t2203  GA102 [GeForce RTX 3090 Ti]\n\t\t1043 87b4  ROG Strix\n8086  Intel Corporation\n\t4680  AlderLake-S GT1\nC 03  Display controller\n\t00  VGA compatible controller\n"
        let all = PCIIDDatabase.parse(text)
        #expect(all.vendorName(0x10de) == "NVIDIA Corporation")
        #expect(all.deviceName(PCIIDPair(vendor: 0x10de, device: 0x2203)) == "GA102 [GeForce RTX 3090 Ti]")
        #expect(all.deviceName(PCIIDPair(vendor: 0x8086, device: 0x4680)) == "AlderLake-S GT1")
        #expect(all.vendors.count == 2)
        let filtered = PCIIDDatabase.parse(text, onlyVendors: [0x8086])
        #expect(filtered.vendorName(0x10de) == nil)
        #expect(filtered.deviceName(PCIIDPair(vendor: 0x8086, device: 0x4680)) == "AlderLake-S GT1")
    }

    @Test func moduleListings() {
        let names = KernelModules.moduleNames(inListing: "kernel/drivers/vfio/pci/vfio-pci.ko.zst: kernel/drivers/vfio/vfio.ko.zst\nkernel/virt/lib/irqbypass.ko\n")
        #expect(names == ["vfio_pci", "irqbypass"])
    }

    @Test func toolVersions() {
        #expect(ToolVersions.parseQEMU("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u16)\nCopyright") == "7.2.22")
        #expect(ToolVersions.parseLibvirt("libvirtd (libvirt) 9.0.0\n") == "9.0.0")
        #expect(ToolVersions.parseQEMU("nonsense") == nil)
    }

    @Test func defaultRouteAndRootMount() {
        let route = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\nwlan0\t0001A8C0\t00000000\t0001\t0\t0\t600\t00FFFFFF\t0\t0\t0\nbr0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
        #expect(HostEssentials.defaultRouteInterfaces(route) == ["br0"])
        #expect(HostEssentials.rootMountSource("/dev/sda1 /boot ext4 rw 0 0\n/dev/mapper/root / btrfs rw 0 0\n") == "/dev/mapper/root")
    }

    @Test func hugePagesAndDistribution() {
        let pages = HugePages.parse(meminfo: "HugePages_Total:    8192\nHugePages_Free:     8000\nHugepagesize:       2048 kB\n")
        #expect(pages == HugePages(total: 8192, free: 8000, pageSizeKiB: 2048))
        #expect(Distribution.parse(osRelease: "ID=pop\nID_LIKE=\"ubuntu debian\"\n") == .debian)
        #expect(Distribution.parse(osRelease: "ID=fedora\n") == .fedora)
        #expect(Distribution.parse(osRelease: "ID=endeavouros\nID_LIKE=arch\n") == .arch)
    }

    @Test func unifiedDiff() {
        let diff = UnifiedDiff.make(old: "a\nb\nc\n", new: "a\nB\nc\nd\n", path: "/etc/x")
        #expect(diff == "--- a/etc/x\n+++ b/etc/x\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n c\n+d\n")
        #expect(UnifiedDiff.make(old: nil, new: "new\n", path: "/etc/y") == "--- /dev/null\n+++ b/etc/y\n@@ -0,0 +1 @@\n+new\n")
        #expect(UnifiedDiff.make(old: "same\n", new: "same\n", path: "/etc/z").isEmpty)
    }

    @Test func templates() throws {
        #expect(try Template.render("a {{X}} b {{Y}}", ["X": "1", "Y": "2"]) == "a 1 b 2")
        #expect(throws: TemplateError.unresolved(template: "template", placeholder: "Z")) { try Template.render("{{Z}}", [:]) }
        let directory = TemplateDirectory.candidates(environment: ["VM_TEMPLATES": "/x"], executablePath: "/opt/vm/.build/debug/vm")
        #expect(directory.first == "/x")
        #expect(directory.contains("/opt/vm/templates"))
        #expect(directory.last == "/usr/share/vm/templates")
    }

    @Test func grubEditing() {
        let grub = "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT='quiet vfio-pci.ids=1234:0001 intel_iommu=off'\nGRUB_CMDLINE_LINUX=\"\"\n"
        let updated = KernelArgumentEditor.updateGrubDefaults(grub, adding: ["intel_iommu=on", "vfio-pci.ids=10de:2203,10de:1aef"])
        #expect(updated == "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet vfio-pci.ids=1234:0001,10de:2203,10de:1aef intel_iommu=on\"\nGRUB_CMDLINE_LINUX=\"\"\n")
        #expect(KernelArgumentEditor.updateGrubDefaults("GRUB_DEFAULT=0\n", adding: ["intel_iommu=on"]) == "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"intel_iommu=on\"\n")
        #expect(KernelArgumentEditor.updateKernelCmdline("root=UUID=1 ro quiet\n", adding: ["intel_iommu=on"]) == "root=UUID=1 ro quiet intel_iommu=on\n")
    }

    @Test func hostRootMapping() {
        #expect(HostRoot("/tmp/x/").path == "/tmp/x")
        #expect(HostRoot("/tmp/x").resolve("/sys/bus") == "/tmp/x/sys/bus")
        #expect(HostRoot.system.resolve("/sys/bus") == "/sys/bus")
        #expect(HostRoot.fromEnvironment(["VM_HOST_ROOT": "/mnt/img"]).path == "/mnt/img")
        #expect(HostRoot.fromEnvironment([:]).isSystemRoot)
    }
}

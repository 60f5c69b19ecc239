import VMCore

/// One line of `vm host check`.
public struct HostCheck: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Codable {
        case ok, warn, fail
    }

    /// Short name of what is checked (`cpu`, `kvm`, `iommu`, ...).
    public var name: String
    public var status: Status
    public var message: String
    /// The exact fix for this host when the status is not ok.
    public var fix: String?

    public init(name: String, status: Status, message: String, fix: String? = nil) {
        self.name = name
        self.status = status
        self.message = message
        self.fix = fix
    }
}

/// Judges ``HostFacts``: pure, so every host state can be tested as a function.
public enum HostChecks {
    /// Every check, in the order a user fixes them.
    public static func evaluate(_ facts: HostFacts) -> [HostCheck] {
        [cpu(facts), kvm(facts), iommu(facts), vfio(facts), firmware(facts), secureBoot(facts), hugePages(facts), qemu(facts),
         swtpm(facts), kvmfr(facts), libvirt(facts)]
    }

    static func firmwareSetting(_ vendor: CPUVendor?) -> String {
        switch vendor {
        case .intel: return "Intel Virtualization Technology (VT-x)"
        case .amd: return "SVM Mode (AMD-V)"
        default: return "hardware virtualization (VT-x or AMD-V)"
        }
    }

    static func cpu(_ facts: HostFacts) -> HostCheck {
        guard let cpu = facts.cpu else {
            return HostCheck(name: "cpu", status: .fail, message: "/proc/cpuinfo could not be read")
        }
        if cpu.hasHardwareVirtualization {
            let flag = cpu.flags.contains("vmx") ? "vmx (Intel VT-x)" : "svm (AMD-V)"
            return HostCheck(name: "cpu", status: .ok, message: "CPU virtualization: \(flag)")
        }
        return HostCheck(name: "cpu", status: .fail, message: "the CPU flags have neither vmx nor svm: hardware virtualization is off or absent",
                         fix: "enable \(firmwareSetting(cpu.vendor)) in the firmware setup (UEFI/BIOS), then boot again")
    }

    static func kvm(_ facts: HostFacts) -> HostCheck {
        if facts.kvmDevicePresent && facts.kvmDeviceAccessible, let problem = facts.kvmProblem {
            return HostCheck(name: "kvm", status: .fail, message: "/dev/kvm opens but KVM cannot run a guest: \(problem)",
                             fix: "enable virtualization for this host (nested virtualization when it is itself a VM), or set accelerator = \"tcg\" in the definition (slow)")
        }
        if facts.kvmDevicePresent && facts.kvmDeviceAccessible {
            return HostCheck(name: "kvm", status: .ok, message: "/dev/kvm present, accessible, and KVM creates a VM")
        }
        if facts.kvmDevicePresent {
            return HostCheck(name: "kvm", status: .warn, message: "/dev/kvm exists but this user cannot open it",
                             fix: "run as root, or add the user to the kvm group: usermod -aG kvm USER (then log in again)")
        }
        guard let cpu = facts.cpu, cpu.hasHardwareVirtualization else {
            return HostCheck(name: "kvm", status: .fail, message: "/dev/kvm missing: no hardware virtualization",
                             fix: "enable \(firmwareSetting(facts.cpu?.vendor)) in the firmware setup (UEFI/BIOS)")
        }
        let module = cpu.vendor == .amd ? "kvm_amd" : "kvm_intel"
        return HostCheck(name: "kvm", status: .fail, message: "/dev/kvm missing although the CPU supports virtualization",
                         fix: "modprobe \(module)")
    }

    static func iommu(_ facts: HostFacts) -> HostCheck {
        let vendor = facts.cpu?.vendor ?? .other
        let commandLine = facts.commandLine
        if facts.iommuGroupCount > 0 {
            if vendor == .amd, commandLine.value(of: "amd_iommu") == "on" {
                return HostCheck(name: "iommu", status: .warn, message: "IOMMU on (\(facts.iommuGroupCount) groups); amd_iommu=on on the kernel command line is not a valid value and does nothing",
                                 fix: "remove amd_iommu=on from \(bootConfiguration(facts)) (AMD enables the IOMMU by default)")
            }
            return HostCheck(name: "iommu", status: .ok, message: "IOMMU on (\(facts.iommuGroupCount) groups)")
        }
        switch vendor {
        case .intel:
            if commandLine.value(of: "intel_iommu") == "on" {
                return HostCheck(name: "iommu", status: .fail, message: "intel_iommu=on is set but the kernel made no IOMMU groups",
                                 fix: "enable VT-d (Intel Virtualization Technology for Directed I/O) in the firmware setup (UEFI/BIOS)")
            }
            return HostCheck(name: "iommu", status: .fail, message: "IOMMU off: no groups under /sys/kernel/iommu_groups and no intel_iommu=on",
                             fix: addArgumentFix("intel_iommu=on", facts) + "; also enable VT-d in the firmware setup")
        case .amd:
            var fix = "enable the IOMMU (\"IOMMU\" or \"AMD-Vi\") in the firmware setup (UEFI/BIOS); AMD enables it by default, amd_iommu=on is not a valid kernel argument"
            if commandLine.value(of: "amd_iommu") == "off" || commandLine.value(of: "iommu") == "off" {
                fix = "remove amd_iommu=off / iommu=off from \(bootConfiguration(facts)), then " + fix
            }
            return HostCheck(name: "iommu", status: .fail, message: "IOMMU off: no groups under /sys/kernel/iommu_groups",
                             fix: fix + " (optional: iommu=pt)")
        case .other:
            return HostCheck(name: "iommu", status: .fail, message: "IOMMU off: no groups under /sys/kernel/iommu_groups",
                             fix: "enable the IOMMU in the firmware setup and on the kernel command line")
        }
    }

    static func vfio(_ facts: HostFacts) -> HostCheck {
        let missing = HostFacts.vfioModules.filter { facts.modules[$0] == .missing || facts.modules[$0] == nil }
        let notLoaded = HostFacts.vfioModules.filter { facts.modules[$0] == .available }
        if !missing.isEmpty {
            return HostCheck(name: "vfio", status: .fail, message: "kernel has no \(missing.joined(separator: ", ")) (neither built in nor a module)",
                             fix: "install a kernel built with CONFIG_VFIO and CONFIG_VFIO_PCI (the distribution's standard kernel has them)")
        }
        if notLoaded.contains("vfio_pci") {
            return HostCheck(name: "vfio", status: .warn, message: "vfio-pci is available but not loaded",
                             fix: "modprobe vfio-pci (to load it at every boot: echo vfio-pci > /etc/modules-load.d/vfio-pci.conf)")
        }
        return HostCheck(name: "vfio", status: .ok, message: "vfio-pci " + (facts.modules["vfio_pci"] == .builtIn ? "built into the kernel" : "loaded"))
    }

    static func firmware(_ facts: HostFacts) -> HostCheck {
        if let first = facts.firmware.first {
            return HostCheck(name: "ovmf", status: .ok, message: "OVMF: \(first.code) + \(first.varsTemplate)")
        }
        return HostCheck(name: "ovmf", status: .fail, message: "no OVMF (UEFI) firmware found",
                         fix: facts.distribution.installCommand(debian: "ovmf", fedora: "edk2-ovmf", arch: "edk2-ovmf"))
    }

    /// Windows 11 setup refuses a machine without Secure Boot: OVMF built with SMM and vars with
    /// Microsoft's keys enrolled (``OVMFImages/knownLocations``).
    static func secureBoot(_ facts: HostFacts) -> HostCheck {
        if let pair = facts.firmware.first(where: \.secureBoot) {
            return HostCheck(name: "secure-boot", status: .ok, message: "Secure Boot with Microsoft's keys (Windows 11): \(pair.code) + \(pair.varsTemplate)")
        }
        return HostCheck(name: "secure-boot", status: .warn,
                         message: "no OVMF with Secure Boot and Microsoft's keys: Windows 11 setup says \"This PC can't run Windows 11\" (other guests do not need it)",
                         fix: facts.distribution.installCommand(debian: "ovmf", fedora: "edk2-ovmf", arch: "edk2-ovmf"))
    }

    /// Looking Glass works on `/dev/shm`; the `kvmfr` module is the optional faster path.
    static func kvmfr(_ facts: HostFacts) -> HostCheck {
        guard facts.kvmfrDevices.isEmpty else {
            return HostCheck(name: "kvmfr", status: .ok, message: "kvmfr loaded: \(facts.kvmfrDevices.joined(separator: ", ")) (Looking Glass: [looking_glass] path = \"\(facts.kvmfrDevices[0])\")")
        }
        return HostCheck(name: "kvmfr", status: .ok,
                         message: "kvmfr not loaded (optional: Looking Glass uses /dev/shm/looking-glass without it; the module comes with Looking Glass's source)")
    }

    /// `[tpm] enabled` (Windows 11) needs swtpm on the QEMU backend, and libvirt runs it too.
    static func swtpm(_ facts: HostFacts) -> HostCheck {
        if let version = facts.swtpmVersion {
            return HostCheck(name: "swtpm", status: .ok, message: "swtpm \(version) (TPM 2.0 for Windows 11)")
        }
        return HostCheck(name: "swtpm", status: .warn, message: "swtpm not found: a VM with [tpm] enabled (Windows 11) cannot start",
                         fix: facts.distribution.installCommand(debian: "swtpm swtpm-tools", fedora: "swtpm swtpm-tools", arch: "swtpm"))
    }

    static func hugePages(_ facts: HostFacts) -> HostCheck {
        guard let pages = facts.hugePages, pages.total > 0 else {
            return HostCheck(name: "hugepages", status: .ok, message: "no huge pages reserved (optional)")
        }
        let mib = pages.total * pages.pageSizeKiB / 1024
        return HostCheck(name: "hugepages", status: .ok, message: "\(pages.total) huge pages of \(pages.pageSizeKiB) KiB reserved (\(mib) MiB), \(pages.free) free")
    }

    static func qemu(_ facts: HostFacts) -> HostCheck {
        if let version = facts.qemuVersion {
            return HostCheck(name: "qemu", status: .ok, message: "QEMU \(version)")
        }
        return HostCheck(name: "qemu", status: .fail, message: "qemu-system-x86_64 not found",
                         fix: facts.distribution.installCommand(debian: "qemu-system-x86 qemu-utils", fedora: "qemu-kvm", arch: "qemu-full"))
    }

    static func libvirt(_ facts: HostFacts) -> HostCheck {
        if let version = facts.libvirtVersion {
            return HostCheck(name: "libvirt", status: .ok, message: "libvirt \(version)")
        }
        return HostCheck(name: "libvirt", status: .warn, message: "libvirtd not found (only needed for the libvirt backend)",
                         fix: facts.distribution.installCommand(debian: "libvirt-daemon-system libvirt-clients", fedora: "libvirt", arch: "libvirt"))
    }

    /// Where kernel arguments go on this host.
    static func bootConfiguration(_ facts: HostFacts) -> String {
        if facts.hasGrubDefaults { return "GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub" }
        if facts.hasKernelCmdlineFile { return "/etc/kernel/cmdline" }
        return "the boot loader's kernel command line"
    }

    /// How to add a kernel argument on this host, as exact steps.
    static func addArgumentFix(_ argument: String, _ facts: HostFacts) -> String {
        if facts.hasGrubDefaults {
            return "add \(argument) to GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, run update-grub, reboot"
        }
        if facts.hasKernelCmdlineFile {
            return "add \(argument) to /etc/kernel/cmdline (Pop!_OS: kernelstub -a \(argument)), reinstall the boot entries (kernel-install or bootctl), reboot"
        }
        return "add \(argument) to the boot loader's kernel command line, reboot"
    }
}

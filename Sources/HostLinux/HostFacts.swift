import FoundationEssentials
import Glibc
import VMCore

/// Everything `vm host check` looks at, read once from the host. ``HostChecks`` judges it without I/O.
public struct HostFacts: Sendable, Hashable, Codable {
    public var cpu: CPUFlags?
    public var kvmDevicePresent: Bool
    public var kvmDeviceAccessible: Bool
    /// Why KVM cannot run a guest although `/dev/kvm` opens (``KVMProbe``); nil when it can, or
    /// when the root is not this machine's.
    public var kvmProblem: String?
    public var iommuGroupCount: Int
    public var commandLine: KernelCommandLine
    /// States of `vfio`, `vfio_iommu_type1` and `vfio_pci`, by module name.
    public var modules: [String: ModuleState]
    public var firmware: [OVMFImages]
    public var hugePages: HugePages?
    public var qemuVersion: String?
    public var libvirtVersion: String?
    /// `swtpm`'s version, when installed (the TPM 2.0 of `[tpm] enabled`).
    public var swtpmVersion: String?
    /// The `kvmfr` module's devices (`/dev/kvmfr0`, ...), for Looking Glass; empty when it is not loaded.
    public var kvmfrDevices: [String] = []
    public var distribution: Distribution
    /// `/etc/default/grub` exists.
    public var hasGrubDefaults: Bool
    /// `/etc/kernel/cmdline` exists (systemd-boot, kernelstub, kernel-install).
    public var hasKernelCmdlineFile: Bool

    public init(cpu: CPUFlags?, kvmDevicePresent: Bool, kvmDeviceAccessible: Bool, iommuGroupCount: Int,
                commandLine: KernelCommandLine, modules: [String: ModuleState], firmware: [OVMFImages],
                hugePages: HugePages?, qemuVersion: String?, libvirtVersion: String?, distribution: Distribution,
                hasGrubDefaults: Bool, hasKernelCmdlineFile: Bool, kvmProblem: String? = nil, swtpmVersion: String? = nil,
                kvmfrDevices: [String] = []) {
        self.cpu = cpu
        self.kvmfrDevices = kvmfrDevices
        self.swtpmVersion = swtpmVersion
        self.kvmProblem = kvmProblem
        self.kvmDevicePresent = kvmDevicePresent
        self.kvmDeviceAccessible = kvmDeviceAccessible
        self.iommuGroupCount = iommuGroupCount
        self.commandLine = commandLine
        self.modules = modules
        self.firmware = firmware
        self.hugePages = hugePages
        self.qemuVersion = qemuVersion
        self.libvirtVersion = libvirtVersion
        self.distribution = distribution
        self.hasGrubDefaults = hasGrubDefaults
        self.hasKernelCmdlineFile = hasKernelCmdlineFile
    }

    /// The VFIO modules the checks look at.
    public static let vfioModules = ["vfio", "vfio_iommu_type1", "vfio_pci"]

    /// Reads the facts from the host root; program versions come from `runner`.
    public static func read(_ fileSystem: any HostFileSystem, runner: any HostCommandRunner) -> HostFacts {
        let modules = KernelModules(fileSystem: fileSystem)
        return HostFacts(
            cpu: try? CPUFlags.read(fileSystem),
            kvmDevicePresent: fileSystem.exists("/dev/kvm"),
            kvmDeviceAccessible: fileSystem.isReadWritable("/dev/kvm"),
            iommuGroupCount: (try? IOMMUGroupReader(fileSystem: fileSystem).allGroups().count) ?? 0,
            commandLine: (try? KernelCommandLine.read(fileSystem)) ?? KernelCommandLine(arguments: []),
            modules: Dictionary(uniqueKeysWithValues: vfioModules.map { ($0, modules.state(of: $0)) }),
            firmware: FirmwareLocator(fileSystem: fileSystem).installed(),
            hugePages: HugePages.read(fileSystem),
            qemuVersion: ToolVersions.qemu(runner),
            libvirtVersion: ToolVersions.libvirt(runner),
            distribution: Distribution.read(fileSystem),
            hasGrubDefaults: fileSystem.exists("/etc/default/grub"),
            hasKernelCmdlineFile: fileSystem.exists("/etc/kernel/cmdline"),
            kvmProblem: fileSystem.root.isSystemRoot && fileSystem.isReadWritable("/dev/kvm") ? KVMProbe.problem() : nil,
            swtpmVersion: ToolVersions.swtpm(runner),
            kvmfrDevices: ((try? fileSystem.contentsOfDirectory("/dev")) ?? []).filter { $0.hasPrefix("kvmfr") }.sorted().map { "/dev/\($0)" }
        )
    }
}

/// The distribution family, for install commands (`/etc/os-release` `ID` and `ID_LIKE`).
public enum Distribution: String, Sendable, Codable {
    case debian, fedora, arch, unknown

    /// Parses `/etc/os-release`.
    public static func parse(osRelease: String) -> Distribution {
        var words: [String] = []
        for line in osRelease.split(separator: "\n") where line.hasPrefix("ID=") || line.hasPrefix("ID_LIKE=") {
            let value = line.split(separator: "=", maxSplits: 1).last ?? ""
            words += value.replacing("\"", with: "").split(separator: " ").map(String.init)
        }
        for word in words {
            switch word {
            case "debian", "ubuntu": return .debian
            case "fedora", "rhel", "centos": return .fedora
            case "arch": return .arch
            default: continue
            }
        }
        return .unknown
    }

    /// Reads `/etc/os-release` (or `/usr/lib/os-release`).
    public static func read(_ fileSystem: any HostFileSystem) -> Distribution {
        let text = fileSystem.readTextIfPresent("/etc/os-release") ?? fileSystem.readTextIfPresent("/usr/lib/os-release") ?? ""
        return parse(osRelease: text)
    }

    /// The command that installs `packages` named per family (`debian`, `fedora`, `arch`).
    func installCommand(debian: String, fedora: String, arch: String) -> String {
        switch self {
        case .debian: return "apt-get install \(debian)"
        case .fedora: return "dnf install \(fedora)"
        case .arch: return "pacman -S \(arch)"
        case .unknown: return "install \(debian) (Debian/Ubuntu), \(fedora) (Fedora) or \(arch) (Arch)"
        }
    }
}

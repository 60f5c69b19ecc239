import VMCore

/// How a planned isolation keeps the host drivers off the GPU.
public enum IsolationMethod: String, Sendable, Codable {
    /// `vfio-pci.ids=` on the kernel command line (the ids are not shared with a device the host keeps).
    case vfioIDs = "vfio-pci.ids"
    /// An initramfs script writing `vfio-pci` into `driver_override` of exactly the chosen functions (identical GPUs).
    case driverOverride = "driver_override"
}

/// One file a plan creates or replaces.
public struct FileChange: Sendable, Hashable, Codable {
    /// Host path.
    public var path: String
    /// Current text; nil when the file does not exist yet.
    public var before: String?
    public var after: String
    /// Permission bits of the new file.
    public var mode: UInt16

    public init(path: String, before: String?, after: String, mode: UInt16) {
        self.path = path
        self.before = before
        self.after = after
        self.mode = mode
    }

    /// The change as a unified diff.
    public var diff: String { UnifiedDiff.make(old: before, new: after, path: path) }
}

/// What `vm host isolate SLOT` will do: files to write, commands to run afterwards, notes for the user.
public struct IsolationPlan: Sendable, Hashable, Codable {
    public var slot: String
    public var functions: [PCIAddress]
    public var method: IsolationMethod
    /// Kernel arguments the plan adds (already merged into the file changes).
    public var kernelArguments: [String]
    public var changes: [FileChange]
    /// Commands to run after writing (argument arrays): `update-grub`, `update-initramfs -u -k all`.
    public var commands: [[String]]
    public var notes: [String]
    /// Safety refusals overridden with `--force`.
    public var overriddenRefusals: [String]

    /// Every change as one unified diff.
    public var diff: String { changes.map(\.diff).joined() }
}

/// Why a slot may not be isolated (without `--force`).
public enum IsolationRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    case slotNotFound(String)
    case bootDisk(group: Int?, controllers: [PCIAddress])
    case networkInUse(group: Int?, nics: [PCIAddress], interfaces: [String])
    case onlyHostDisplay(PCIAddress)
    case foreignGroupMembers(group: Int, members: [String])
    /// Identical GPUs need an initramfs script; only initramfs-tools (Debian, Ubuntu) is supported.
    case initramfsToolsMissing
    /// Several refusals at once.
    indirect case several([IsolationRefusal])

    /// Whether `--force` may override it.
    public var overridable: Bool {
        switch self {
        case .slotNotFound, .initramfsToolsMissing: return false
        case let .several(all): return all.allSatisfy(\.overridable)
        default: return true
        }
    }

    public var description: String {
        func inGroup(_ group: Int?) -> String { group.map { "IOMMU group \($0)" } ?? "the slot" }
        switch self {
        case let .slotNotFound(slot): return "no PCI functions at \(slot)"
        case let .bootDisk(group, controllers):
            return "\(inGroup(group)) holds the controller of the disk mounted at / (\(controllers.map(\.description).joined(separator: ", ")))"
        case let .networkInUse(group, nics, interfaces):
            return "\(inGroup(group)) holds the network card with the default route (\(interfaces.joined(separator: ", ")): \(nics.map(\.description).joined(separator: ", ")))"
        case let .onlyHostDisplay(address):
            return "\(address) is the boot display (boot_vga=1) and the host has no other GPU"
        case let .foreignGroupMembers(group, members):
            return "IOMMU group \(group) also holds \(members.joined(separator: "; ")): they would leave the host too (move the card to another slot)"
        case .initramfsToolsMissing:
            return "identical GPUs need an initramfs script; /etc/initramfs-tools is missing (only initramfs-tools hosts are supported)"
        case let .several(all): return all.map(\.description).joined(separator: "\n")
        }
    }
}

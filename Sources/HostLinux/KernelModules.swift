import FoundationEssentials
import Glibc

/// How a kernel module is available on the host.
public enum ModuleState: String, Sendable, Codable {
    /// Loaded now (`/sys/module/NAME` exists).
    case loaded
    /// Compiled into the kernel (`modules.builtin`).
    case builtIn
    /// Present as a `.ko` in `/lib/modules/RELEASE` (`modules.dep`) but not loaded.
    case available
    /// Nowhere to be found.
    case missing
}

/// Finds kernel modules for the running kernel under the host root.
public struct KernelModules: Sendable {
    public let fileSystem: any HostFileSystem

    public init(fileSystem: any HostFileSystem) {
        self.fileSystem = fileSystem
    }

    /// The running kernel's release (`/proc/sys/kernel/osrelease`), or nil.
    public func kernelRelease() -> String? {
        (try? fileSystem.readTrimmed("/proc/sys/kernel/osrelease")).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The state of module `name` (dashes and underscores are the same).
    public func state(of name: String) -> ModuleState {
        let canonical = Self.canonicalName(name)
        if fileSystem.isDirectory("/sys/module/" + canonical) {
            // Built-in modules with parameters also appear here; either way the code is in the kernel.
            return .loaded
        }
        guard let release = kernelRelease() else { return .missing }
        let directory = "/lib/modules/" + release
        if let builtin = fileSystem.readTextIfPresent(directory + "/modules.builtin"),
           Self.moduleNames(inListing: builtin).contains(canonical) {
            return .builtIn
        }
        if let dep = fileSystem.readTextIfPresent(directory + "/modules.dep"),
           Self.moduleNames(inListing: dep).contains(canonical) {
            return .available
        }
        return .missing
    }

    /// Module names in a `modules.builtin` or `modules.dep` listing: `kernel/drivers/vfio/pci/vfio-pci.ko.zst: ...` -> `vfio_pci`.
    public static func moduleNames(inListing text: String) -> Set<String> {
        var names = Set<String>()
        for line in text.split(separator: "\n") {
            let path = line.split(separator: ":", maxSplits: 1).first ?? ""
            guard let file = path.split(separator: "/").last, let range = file.firstRange(of: ".ko") else { continue }
            names.insert(canonicalName(String(file[..<range.lowerBound])))
        }
        return names
    }

    /// `vfio-pci` -> `vfio_pci`.
    public static func canonicalName(_ name: String) -> String {
        name.replacing("-", with: "_")
    }
}

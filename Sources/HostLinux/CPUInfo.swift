import FoundationEssentials
import Glibc
import VMCore

/// The CPU vendor, as far as virtualization is concerned.
public enum CPUVendor: String, Sendable, Codable {
    case intel
    case amd
    case other
}

/// The CPU facts `vm host check` and the isolation planner need, parsed from `/proc/cpuinfo`.
public struct CPUFlags: Sendable, Hashable, Codable {
    public var vendor: CPUVendor
    /// The first processor's flags, as whole words.
    public var flags: Set<String>

    public init(vendor: CPUVendor, flags: Set<String>) {
        self.vendor = vendor
        self.flags = flags
    }

    /// Whether a guest CPU of `cpu` on this host needs `topoext` to see its SMT threads: the host
    /// passed through (`model = "host"`) is an AMD CPU that has it, and the guest has threads.
    public func exposesTopoext(to cpu: CPUSpec) -> Bool {
        vendor == .amd && flags.contains("topoext") && Self.topoextMatters(to: cpu)
    }

    /// Whether the host's `topoext` matters to a guest CPU of `cpu` at all: the host's CPU passed
    /// through with SMT threads (otherwise `/proc/cpuinfo` need not be read).
    public static func topoextMatters(to cpu: CPUSpec) -> Bool {
        cpu.model == "host" && cpu.threads > 1
    }

    /// Intel VT-x (`vmx`) or AMD-V (`svm`) as whole flags: `vme` does not count.
    public var hasHardwareVirtualization: Bool { flags.contains("vmx") || flags.contains("svm") }

    /// Parses `/proc/cpuinfo` text: the first `vendor_id` and `flags` lines.
    public static func parse(cpuinfo: String) -> CPUFlags {
        var vendor: CPUVendor?
        var flags: Set<String>?
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        for line in cpuinfo.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingBlanks()
            let value = line[line.index(after: colon)...]
            if key == "vendor_id" && vendor == nil {
                switch value.trimmingBlanks() {
                case "GenuineIntel": vendor = .intel
                case "AuthenticAMD", "HygonGenuine": vendor = .amd
                default: vendor = .other
                }
            } else if key == "flags" && flags == nil {
                flags = Set(value.split(whereSeparator: blank).map(String.init))
            }
            if vendor != nil && flags != nil { break }
        }
        return CPUFlags(vendor: vendor ?? .other, flags: flags ?? [])
    }

    /// Reads and parses `/proc/cpuinfo`.
    public static func read(_ fileSystem: any HostFileSystem) throws -> CPUFlags {
        parse(cpuinfo: try fileSystem.readText("/proc/cpuinfo"))
    }
}

import FoundationEssentials
import Glibc
import VMCore

/// The root directory under which every host path (`/sys`, `/proc`, `/dev`, `/etc`, ...) is read or written.
///
/// `/` on a real host; a temporary tree in tests; a mounted image when inspecting another system.
public struct HostRoot: Sendable, Hashable, CustomStringConvertible {
    /// The root directory, absolute, without a trailing slash unless it is `/`.
    public let path: String

    /// The environment variable that overrides the default root.
    public static let environmentVariable = "VM_HOST_ROOT"

    /// The real host.
    public static let system = HostRoot("/")

    /// A root at `path` (made absolute against the current directory when relative).
    public init(_ path: String) {
        var absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        while absolute.count > 1 && absolute.hasSuffix("/") { absolute.removeLast() }
        self.path = absolute.isEmpty ? "/" : absolute
    }

    /// `VM_HOST_ROOT` when set and non-empty, else `/`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessEnvironment.current) -> HostRoot {
        guard let value = environment[environmentVariable], !value.isEmpty else { return .system }
        return HostRoot(value)
    }

    /// True for the machine's own root (`/`): only then are host commands such as `update-grub` run.
    public var isSystemRoot: Bool { path == "/" }

    /// The real path of the host path `hostPath` (an absolute path such as `/sys/bus/pci/devices`),
    /// joined without looking at the file system; see ``confinedHostPath(_:followingLastLink:)``.
    public func resolve(_ hostPath: String) -> String {
        precondition(hostPath.hasPrefix("/"), "host paths are absolute: \(hostPath)")
        return isSystemRoot ? hostPath : path + hostPath
    }

    public var description: String { path }
}

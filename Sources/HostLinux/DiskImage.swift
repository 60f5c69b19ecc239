import FoundationEssentials
import Glibc
import VMCore

/// Why a new disk image was not made.
public enum DiskImageError: Error, Equatable, CustomStringConvertible {
    /// Something is at the path already (a file, a folder or a symlink): never overwritten.
    case exists(String)
    /// The size is not one `qemu-img` takes.
    case badSize(String)
    /// `qemu-img create` failed; its message.
    case createFailed(path: String, message: String)

    public var description: String {
        switch self {
        case .exists(let path):
            return "\(path) exists and is not overwritten (it may hold an installed guest); remove it yourself or use another VM name"
        case .badSize(let size):
            return "'\(size)' is not a disk size; write a number with K, M, G or T, e.g. 128G"
        case .createFailed(let path, let message):
            return "qemu-img could not create \(path): \(message); install qemu-utils (Debian/Ubuntu) or qemu-img (Fedora) if it is missing"
        }
    }
}

/// New guest disks, made with `qemu-img` through a ``HostCommandRunner``.
public struct DiskImage: Sendable {
    public let runner: any HostCommandRunner

    public init(runner: any HostCommandRunner) {
        self.runner = runner
    }

    /// Whether `size` is a size `qemu-img create` takes: digits and an optional K, M, G or T.
    public static func isSize(_ size: String) -> Bool {
        let digits = size.last.map { "KMGT".contains($0) } == true ? size.dropLast() : Substring(size)
        return !digits.isEmpty && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber) && digits.first != "0"
    }

    /// `qemu-img create -f qcow2 PATH SIZE` (sparse: it takes room as the guest writes), made
    /// 0600; refuses when anything is at `path`, a dangling symlink included.
    public func createQCOW2(at path: String, size: String) throws(DiskImageError) {
        guard Self.isSize(size) else { throw .badSize(size) }
        var status = stat()
        guard lstat(path, &status) != 0 else { throw .exists(path) }
        let result: CommandResult
        do {
            result = try runner.run(["qemu-img", "create", "-q", "-f", "qcow2", path, size], timeout: .seconds(60))
        } catch {
            throw .createFailed(path: path, message: "\(error)")
        }
        guard result.status == 0 else {
            throw .createFailed(path: path, message: (result.standardError + result.standardOutput).trimmingWhitespace())
        }
        chmod(path, 0o600)
    }
}

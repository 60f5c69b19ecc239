import FoundationEssentials
import Glibc

/// Every host read and write goes through this seam, with host paths (`/sys/...`, `/proc/...`, `/etc/...`).
///
/// ``RootedFileSystem`` maps those paths under a ``HostRoot``; tests decorate it to simulate the kernel.
public protocol HostFileSystem: Sendable {
    /// The root the host paths are mapped under.
    var root: HostRoot { get }
    /// The bytes of a file.
    func readData(_ path: String) throws -> Data
    /// The names in a directory (no `.`/`..`), sorted.
    func contentsOfDirectory(_ path: String) throws -> [String]
    /// The raw target of a symlink.
    func readLink(_ path: String) throws -> String
    /// The host path of `path` with every symlink resolved (it must exist and stay under the root).
    func canonicalPath(_ path: String) throws -> String
    /// Whether anything (file, directory, symlink target) exists at `path`.
    func exists(_ path: String) -> Bool
    /// Whether `path` is a directory (following symlinks).
    func isDirectory(_ path: String) -> Bool
    /// Writes a sysfs/procfs attribute: opens the existing file write-only and writes `value` in one call.
    func writeAttribute(_ value: String, to path: String) throws
    /// Creates or replaces a regular file atomically (temporary file + rename), with permission bits `mode`.
    func writeFile(_ data: Data, to path: String, mode: UInt16) throws
    /// The permission bits of a file.
    func permissions(_ path: String) throws -> UInt16
    /// Removes a file or symlink.
    func removeFile(_ path: String) throws
    /// Creates `path` and missing parents; returns the host paths of the directories it created, outermost first.
    func createDirectories(_ path: String) throws -> [String]
    /// Removes an empty directory.
    func removeDirectory(_ path: String) throws
    /// Whether this process may open `path` for reading and writing.
    func isReadWritable(_ path: String) -> Bool
}

extension HostFileSystem {
    /// The file as UTF-8 text.
    public func readText(_ path: String) throws -> String {
        String(decoding: try readData(path), as: UTF8.self)
    }

    /// The file's text with surrounding whitespace removed (sysfs attributes end in a newline).
    public func readTrimmed(_ path: String) throws -> String {
        try readText(path).trimmingWhitespace()
    }

    /// The text of the file, or nil when it cannot be read.
    public func readTextIfPresent(_ path: String) -> String? {
        try? readText(path)
    }

    /// The last path component of a symlink's target, or nil when `path` is not a readable symlink.
    public func linkBasename(_ path: String) -> String? {
        guard let target = try? readLink(path) else { return nil }
        return target.split(separator: "/").last.map(String.init)
    }
}

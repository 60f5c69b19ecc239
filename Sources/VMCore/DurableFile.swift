import Foundation

/// Files that must survive a crash whole: written to a temporary file, fsync'd, renamed over the
/// old one, and the folder fsync'd, so a reader sees the old content or the new, never a part.
public enum DurableFile {
    /// Why a durable write or removal failed.
    public struct WriteError: Error, CustomStringConvertible {
        public let path: String
        public let errno: Int32
        public var description: String { "cannot write \(path): \(String(cString: strerror(errno)))" }
    }

    /// Replaces the file at `path` with `data` (mode 0600).
    public static func write(_ data: Data, to path: String) throws(WriteError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw WriteError(path: temporary, errno: errno) }
        defer { close(fd) }
        let written = data.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        guard written == data.count, fsync(fd) == 0 else { throw WriteError(path: temporary, errno: errno) }
        guard rename(temporary, path) == 0 else { throw WriteError(path: path, errno: errno) }
        syncDirectory(of: path)
    }

    /// `value` as pretty, key-sorted JSON, written durably.
    public static func writeJSON<Value: Encodable>(_ value: Value, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try write(try encoder.encode(value), to: path)
    }

    /// Removes the file at `path` (nothing to do when it is gone), durably.
    public static func remove(_ path: String) throws(WriteError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw WriteError(path: path, errno: errno) }
        syncDirectory(of: path)
    }

    private static func syncDirectory(of path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}

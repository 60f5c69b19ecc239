import FoundationEssentials
import Glibc

/// Files that must survive a crash whole: written in one step by ``FileAccess`` (a temporary file
/// opened without following links, fsync'd, renamed over the old one), and then the folder fsync'd,
/// so a reader sees the old content or the new, never a part.
public enum DurableFile {
    /// Replaces the file at `path` with `data` (mode 0600).
    public static func write(_ data: Data, to path: String) throws(FileAccessError) {
        try FileAccess.write(Array(data), to: path, permissions: 0o600)
        syncDirectory(of: path)
    }

    /// `value` as pretty, key-sorted JSON, written durably.
    public static func writeJSON<Value: Encodable>(_ value: Value, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try write(try encoder.encode(value), to: path)
    }

    /// Removes the file at `path` (nothing to do when it is gone), durably.
    public static func remove(_ path: String) throws(FileAccessError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw FileAccessError(.write, path: path, code: errno) }
        syncDirectory(of: path)
    }

    private static func syncDirectory(of path: String) {
        let directory = PathName.folder(of: path)
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}

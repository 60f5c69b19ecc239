import FoundationEssentials
import Glibc

/// Why a file a definition names (disk image, kernel, ROM, firmware) cannot be given to QEMU.
public enum FileProblem: Sendable, Equatable, CustomStringConvertible {
    case missing
    case folder
    case empty

    public var description: String {
        switch self {
        case .missing: return "does not exist"
        case .folder: return "is a folder, not a file"
        case .empty: return "is an empty file"
        }
    }

    /// What to do about it.
    public var fix: String {
        switch self {
        case .missing: return "correct the path or create the file"
        case .folder: return "name a file inside it"
        case .empty: return "name the real file (an empty one cannot be booted or attached)"
        }
    }

    /// The problem with `path` on this machine, or nil for a non-empty file or a device.
    @Sendable public static func onHost(_ path: String) -> FileProblem? {
        var status = stat()
        guard stat(path, &status) == 0 else { return .missing }
        switch status.st_mode & S_IFMT {
        case S_IFDIR: return .folder
        case S_IFREG: return status.st_size == 0 ? .empty : nil
        default: return nil
        }
    }
}

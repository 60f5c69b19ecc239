import FoundationEssentials
import Glibc

/// A file or folder that could not be read, written or made: what failed, where, and the fix,
/// from the system's error number (never Foundation's `NSCocoaErrorDomain` text).
public struct FileAccessError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What was being done.
    public enum Operation: String, Sendable {
        case read = "read"
        case write = "write"
        case createFolder = "create the folder"
        /// Foundation did not say whether it was reading or writing.
        case access = "use"
    }

    public let operation: Operation
    public let path: String
    /// The `errno` the system gave.
    public let code: Int32

    public init(_ operation: Operation, path: String, code: Int32) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    public var description: String { "cannot \(operation.rawValue) \(path): \(reason) (fix: \(fix))" }

    /// Why it failed, in words ("there is no such file").
    public var reason: String {
        switch code {
        case ENOENT where operation == .read: return "there is no such file"
        case ENOENT where operation == .access: return "it or its folder does not exist"
        case ENOENT: return "no file can be made there (its folder is missing or takes no new files)"
        case EISDIR: return "it is a folder, not a file"
        case ENOTDIR: return "a part of the path is a file, not a folder"
        case EACCES, EPERM: return "permission denied"
        case EROFS: return "the file system is read-only"
        case ENOSPC, EDQUOT: return "no space left on the device"
        case EEXIST: return "a file is in the way"
        case ELOOP: return "it is a symbolic link, or one loops"
        default: return String(cString: strerror(code))
        }
    }

    private var fix: String {
        switch (code, operation) {
        case (ENOENT, .read), (ENOENT, .access): return "check the path"
        case (ENOENT, _): return "create the folder first, or choose another path"
        case (EISDIR, .read): return "give the path of a file in it"
        case (EISDIR, _): return "give a file name, not a folder"
        case (ENOTDIR, _), (EEXIST, _): return "check each part of the path"
        case (EACCES, .read), (EPERM, .read): return "run as a user who may read it, or change its permissions"
        case (EACCES, _), (EPERM, _): return "choose a path you may write to, or run with sudo"
        case (EROFS, _): return "choose a path on a writable file system"
        case (ENOSPC, _), (EDQUOT, _): return "free some space"
        case (ELOOP, _): return "use the real path, not a symbolic link"
        default: return "check the path"
        }
    }

    /// The same failure for an error thrown by Foundation (a `CocoaError` that names a file),
    /// or nil when `error` is not one.
    public init?(foundation error: any Error, operation: Operation? = nil) {
        guard let cocoa = error as? CocoaError, let path = cocoa.filePath ?? cocoa.url?.path else { return nil }
        let code: Int32
        if let underlying = cocoa.underlying as? POSIXError {
            code = underlying.code.rawValue
        } else {
            switch cocoa.code {
            case .fileNoSuchFile, .fileReadNoSuchFile: code = ENOENT
            case .fileReadNoPermission, .fileWriteNoPermission: code = EACCES
            case .fileWriteVolumeReadOnly: code = EROFS
            case .fileWriteOutOfSpace: code = ENOSPC
            case .fileWriteFileExists: code = EEXIST
            default:
                var status = stat()
                code = stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR ? EISDIR : EIO
            }
        }
        let reads = CocoaError.Code.fileReadUnknown.rawValue...CocoaError.Code.fileReadNoSuchFile.rawValue
        let writes = CocoaError.Code.fileWriteUnknown.rawValue...CocoaError.Code.fileWriteVolumeReadOnly.rawValue
        let guessed: Operation = reads.contains(cocoa.code.rawValue) ? .read : writes.contains(cocoa.code.rawValue) ? .write : .access
        self.init(operation ?? guessed, path: path, code: code)
    }

    /// Why `error` happened, in words: the ``reason`` of the file failure it stands for, else its text.
    public static func reason(of error: any Error) -> String {
        (error as? FileAccessError ?? FileAccessError(foundation: error))?.reason ?? "\(error)"
    }

    /// `error`, or the ``FileAccessError`` it stands for when Foundation threw it: what a command shows.
    public static func presentable(_ error: any Error) -> any Error {
        FileAccessError(foundation: error) ?? error
    }
}

/// Reading and writing the files `vm` reports on, with ``FileAccessError`` for every failure.
public enum FileAccess {
    /// The bytes of the file at `path`.
    public static func read(_ path: String) throws(FileAccessError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileAccessError(.read, path: path, code: errno) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw FileAccessError(.read, path: path, code: errno) }
        guard status.st_mode & S_IFMT != S_IFDIR else { throw FileAccessError(.read, path: path, code: EISDIR) }
        return try readToEnd(descriptor, path: path)
    }

    /// The bytes left on `descriptor` (open on `path`, which errors name), up to its end.
    public static func readToEnd(_ descriptor: Int32, path: String) throws(FileAccessError) -> [UInt8] {
        var buffer: [UInt8] = []
        let length = try readToEnd(descriptor, path: path, into: &buffer)
        return Array(buffer[..<length])
    }

    /// Reads the bytes left on `descriptor` into the start of `buffer`, which grows as needed and
    /// can serve the next read too (a scan of many small files makes no array per file); the
    /// number of bytes read.
    public static func readToEnd(_ descriptor: Int32, path: String, into buffer: inout [UInt8]) throws(FileAccessError) -> Int {
        if buffer.count < 4096 { buffer = [UInt8](repeating: 0, count: 4096) }
        var length = 0
        while true {
            if length == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + length, $0.count - length) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw FileAccessError(.read, path: path, code: errno) }
            if count == 0 { return length }
            length += count
        }
    }

    /// Writes `text` to `path` in one step (a temporary file in the same folder, renamed over it),
    /// making missing folders first.
    public static func write(_ text: String, to path: String, permissions: mode_t = 0o644) throws(FileAccessError) {
        try write(Array(text.utf8), to: path, permissions: permissions)
    }

    /// Writes `bytes` to `path` in one step, like ``write(_:to:permissions:)-(String,_,_)``.
    public static func write(_ bytes: [UInt8], to path: String, permissions: mode_t = 0o644) throws(FileAccessError) {
        let folder = PathName.folder(of: path)
        if !folder.isEmpty { try createFolders(folder) }
        let temporary = "\(folder.isEmpty ? "." : folder)/.\(PathName.lastComponent(of: path)).\(getpid()).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, permissions)
        guard descriptor >= 0 else { throw FileAccessError(.write, path: path, code: errno) }
        var failure: Int32 = 0
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { failure = errno; break }
            written += count
        }
        if failure == 0, fsync(descriptor) != 0 { failure = errno }
        close(descriptor)
        if failure == 0, rename(temporary, path) != 0 { failure = errno }
        if failure != 0 {
            unlink(temporary)
            throw FileAccessError(.write, path: path, code: failure)
        }
    }

    /// Makes `path` and any missing folders above it (`permissions` less the umask).
    public static func createFolders(_ path: String, permissions: mode_t = 0o755) throws(FileAccessError) {
        var status = stat()
        if stat(path, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFDIR else { throw FileAccessError(.createFolder, path: path, code: ENOTDIR) }
            return
        }
        let parent = PathName.folder(of: path)
        if !parent.isEmpty, parent != path { try createFolders(parent, permissions: permissions) }
        guard mkdir(path, permissions) == 0 || errno == EEXIST else { throw FileAccessError(.createFolder, path: path, code: errno) }
    }
}

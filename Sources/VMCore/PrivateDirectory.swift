import FoundationEssentials
import Glibc

/// The 0700 folders `vm` keeps sockets and state in. A folder someone else could have placed or
/// can change is refused rather than used: files `vm` and QEMU put in it (sockets, the pidfile,
/// the lock, logs) are then only ever created in a folder that belongs to this user alone.
public enum PrivateDirectory {
    /// Makes `path` (and any missing folders above it, 0700) or checks the one that is there:
    /// neither it nor its parent may be a symbolic link, it must belong to `owner` and the parent
    /// to `owner` or root, and neither may be writable by others (a sticky parent such as `/tmp`
    /// is fine). Only a folder of `owner`'s is tightened to 0700; nothing else is ever chmodded.
    /// Throws ``PrivateDirectoryError``, or ``FileAccessError`` when a folder above cannot be made.
    public static func make(_ path: String, owner: uid_t = geteuid()) throws {
        let parent = PathName.folder(of: path)
        let name = PathName.lastComponent(of: path)
        if !parent.isEmpty { try FileAccess.createFolders(parent, permissions: 0o700) }
        let parentFD = try openFolder(parent.isEmpty ? "." : parent, at: AT_FDCWD)
        defer { close(parentFD) }
        try check(parentFD, path: parent, owner: owner, isParent: true)
        if mkdirat(parentFD, name, 0o700) != 0, errno != EEXIST {
            throw PrivateDirectoryError(path: path, problem: .cannotCreate(String(cString: strerror(errno))))
        }
        let folderFD = try openFolder(name, at: parentFD, shownAs: path)
        defer { close(folderFD) }
        let status = try check(folderFD, path: path, owner: owner, isParent: false)
        if status.st_mode & 0o077 != 0, fchmod(folderFD, 0o700) != 0 {
            throw PrivateDirectoryError(path: path, problem: .cannotCreate(String(cString: strerror(errno))))
        }
    }

    /// Opens a folder without following a symbolic link in its last place.
    private static func openFolder(_ name: String, at directory: Int32, shownAs shown: String? = nil) throws(PrivateDirectoryError) -> Int32 {
        let fd = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            let path = shown ?? name
            throw PrivateDirectoryError(path: path, problem: errno == ELOOP || errno == ENOTDIR ? .notAFolder : .cannotCreate(String(cString: strerror(errno))))
        }
        return fd
    }

    @discardableResult
    private static func check(_ fd: Int32, path: String, owner: uid_t, isParent: Bool) throws(PrivateDirectoryError) -> stat {
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw PrivateDirectoryError(path: path, problem: .cannotCreate(String(cString: strerror(errno)))) }
        guard status.st_uid == owner || (isParent && status.st_uid == 0) else {
            throw PrivateDirectoryError(path: path, problem: .foreignOwner(uid: status.st_uid, expected: owner))
        }
        let sticky = status.st_mode & S_ISVTX != 0
        guard status.st_mode & 0o022 == 0 || (isParent && sticky) else {
            throw PrivateDirectoryError(path: path, problem: .writableByOthers(mode: status.st_mode & 0o7777))
        }
        return status
    }
}

/// Why a runtime or state folder was refused, with the fix.
public struct PrivateDirectoryError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Problem: Equatable, Sendable {
        /// A symbolic link (or a file) where the folder should be.
        case notAFolder
        case foreignOwner(uid: uid_t, expected: uid_t)
        case writableByOthers(mode: mode_t)
        case cannotCreate(String)
    }

    public let path: String
    public let problem: Problem

    public var description: String {
        switch problem {
        case .notAFolder:
            return "refusing \(path): it is a symbolic link or a file, not a folder (fix: remove it; vm makes the folder itself)"
        case .foreignOwner(let uid, let expected):
            return "refusing \(path): it belongs to user \(uid), not \(expected) (fix: remove it, or `chown \(expected) \(path)` if it is yours)"
        case .writableByOthers(let mode):
            return "refusing \(path): other users may write to it (mode \(String(mode, radix: 8))) (fix: `chmod go-w \(path)`)"
        case .cannotCreate(let reason):
            return "cannot create the folder \(path): \(reason) (fix: check the path and its permissions)"
        }
    }
}

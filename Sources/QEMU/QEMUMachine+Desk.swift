import FoundationEssentials
import Glibc
import VMCore

/// Why the Looking Glass shared memory could not be made.
public struct SharedMemoryError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String

    public var description: String { "Looking Glass shared memory \(path): \(reason)" }
}

/// Who maps the Looking Glass shared-memory file, from one scan of every process: `vm up` scans
/// once and both removes a crashed run's file and makes the new one by it.
struct SharedMemoryScan {
    /// A process that maps the file, or nil (also when there is no file to scan for).
    let mapper: Int32?
}

extension QEMUMachine {
    /// Scans the processes for the Looking Glass file (none when the VM has no such file).
    func scanSharedMemory() -> SharedMemoryScan {
        guard let lookingGlass = spec.lookingGlass, !lookingGlass.usesKVMFR else { return SharedMemoryScan(mapper: nil) }
        return SharedMemoryScan(mapper: processes.processMapping(lookingGlass.path))
    }

    /// Makes the Looking Glass shared-memory file of `[looking_glass]` (not a `kvmfr` device, which
    /// its module owns) before QEMU starts: a new file of the configured size, mode 0660, owned by
    /// the desktop user, so that the Looking Glass client can map it. A file left by a crashed
    /// run (or anything else at the path, a symlink included) is removed first, never followed;
    /// `scan` says whether another process maps the file (then it is refused).
    func createSharedMemory(scan: SharedMemoryScan, environment: [String: String] = ProcessEnvironment.current) throws {
        guard let lookingGlass = spec.lookingGlass, !lookingGlass.usesKVMFR else { return }
        let path = lookingGlass.path
        func failure(_ reason: String) -> SharedMemoryError { SharedMemoryError(path: path, reason: reason) }
        guard let owner = Self.sharedMemoryOwner(lookingGlass.owner ?? environment["SUDO_USER"]) else {
            throw failure("no user '\(lookingGlass.owner ?? "")' on this host; set owner under [looking_glass] to the desktop user")
        }
        if let user = scan.mapper {
            throw failure("process \(user) uses it (another VM's Looking Glass?); give this VM its own path under [looking_glass]")
        }
        if unlink(path) != 0, errno != ENOENT { throw failure("cannot remove what is there: \(String(cString: strerror(errno)))") }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o660)
        guard fd >= 0 else { throw failure("cannot create it: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard ftruncate(fd, off_t(lookingGlass.sizeMiB) * 1024 * 1024) == 0, fchown(fd, owner.uid, owner.gid) == 0,
              fchmod(fd, 0o660) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(path)
            throw failure("cannot size or hand it to its user: \(reason)")
        }
    }

    /// Refuses a start whose `[audio]` server socket is missing: QEMU would end at once, with
    /// PulseAudio's "Connection refused".
    func checkSoundServer() throws {
        guard let audio = spec.audio, audio.backend == .pulseaudio, let server = audio.server, server.hasPrefix("unix:") else { return }
        var status = stat()
        guard stat(String(server.dropFirst(5)), &status) == 0, status.st_mode & S_IFMT == S_IFSOCK else {
            throw StartRefusal.soundServerMissing(server: server)
        }
    }

    /// Removes the Looking Glass shared-memory file `vm up` made (a regular file only; a device or
    /// anything else at the path stays, and so does a file another running QEMU still maps:
    /// `scan`, or a scan now when nil).
    func removeSharedMemory(scan: SharedMemoryScan? = nil) {
        guard let lookingGlass = spec.lookingGlass, !lookingGlass.usesKVMFR else { return }
        var status = stat()
        guard lstat(lookingGlass.path, &status) == 0, status.st_mode & S_IFMT == S_IFREG,
              (scan ?? scanSharedMemory()).mapper == nil else { return }
        unlink(lookingGlass.path)
    }

    /// The uid and gid of user `name`, or of this process when `name` is nil; nil for an unknown user.
    static func sharedMemoryOwner(_ name: String?) -> (uid: uid_t, gid: gid_t)? {
        guard let name else { return (getuid(), getgid()) }
        guard let entry = getpwnam(name) else { return nil }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }
}

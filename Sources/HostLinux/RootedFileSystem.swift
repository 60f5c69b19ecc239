import FoundationEssentials
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The real ``HostFileSystem``: host paths are mapped under a ``HostRoot`` and accessed with plain system calls.
public struct RootedFileSystem: HostFileSystem {
    public let root: HostRoot

    /// A file system over `root` (the machine itself by default).
    public init(root: HostRoot = .system) {
        self.root = root
    }

    /// The real path of host path `path`: under a root other than `/`, symbolic links are
    /// resolved inside the root (``HostRoot/confinedHostPath(_:followingLastLink:)``).
    private func real(_ path: String, followingLastLink: Bool = true) throws(HostError) -> String {
        root.isSystemRoot ? path : root.resolve(try root.confinedHostPath(path, followingLastLink: followingLastLink))
    }

    public func readData(_ path: String) throws -> Data {
        let fd = open(try real(path), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HostError.io(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        var result = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw HostError.io(path: path, operation: "read", errno: errno)
            }
            if count == 0 { break }
            result.append(contentsOf: buffer[0..<count])
        }
        return result
    }

    public func contentsOfDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(try real(path)) else { throw HostError.io(path: path, operation: "opendir", errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func readLink(_ path: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(try real(path, followingLastLink: false), &buffer, buffer.count - 1)
        guard count >= 0 else { throw HostError.io(path: path, operation: "readlink", errno: errno) }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func canonicalPath(_ path: String) throws -> String {
        guard root.isSystemRoot else {
            let hostPath = try root.confinedHostPath(path)
            guard exists(hostPath) else { throw HostError.io(path: path, operation: "realpath", errno: ENOENT) }
            return hostPath
        }
        guard let resolved = realpath(path, nil) else {
            throw HostError.io(path: path, operation: "realpath", errno: errno)
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    public func exists(_ path: String) -> Bool {
        var info = stat()
        guard let real = try? real(path) else { return false }
        return stat(real, &info) == 0
    }

    public func isDirectory(_ path: String) -> Bool {
        var info = stat()
        guard let real = try? real(path) else { return false }
        return stat(real, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    public func writeAttribute(_ value: String, to path: String) throws {
        let fd = open(try real(path), O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard fd >= 0 else { throw HostError.io(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw HostError.io(path: path, operation: "write", errno: written < 0 ? errno : EIO)
        }
    }

    public func writeFile(_ data: Data, to path: String, mode: UInt16) throws {
        let target = try real(path)
        let temporary = target + ".vm-tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode_t(mode))
        guard fd >= 0 else { throw HostError.io(path: path, operation: "create", errno: errno) }
        var failure: HostError?
        let bytes = [UInt8](data)
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                failure = .io(path: path, operation: "write", errno: errno)
                break
            }
            offset += count
        }
        if failure == nil && fchmod(fd, mode_t(mode)) != 0 { failure = .io(path: path, operation: "chmod", errno: errno) }
        if failure == nil && fsync(fd) != 0 { failure = .io(path: path, operation: "fsync", errno: errno) }
        close(fd)
        if failure == nil && rename(temporary, target) != 0 { failure = .io(path: path, operation: "rename", errno: errno) }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }

    public func permissions(_ path: String) throws -> UInt16 {
        var info = stat()
        guard stat(try real(path), &info) == 0 else { throw HostError.io(path: path, operation: "stat", errno: errno) }
        return UInt16(info.st_mode & 0o7777)
    }

    public func removeFile(_ path: String) throws {
        guard unlink(try real(path, followingLastLink: false)) == 0 else { throw HostError.io(path: path, operation: "unlink", errno: errno) }
    }

    public func createDirectories(_ path: String) throws -> [String] {
        var created: [String] = []
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            if isDirectory(current) { continue }
            guard mkdir(try real(current, followingLastLink: false), 0o755) == 0 else {
                throw HostError.io(path: current, operation: "mkdir", errno: errno)
            }
            created.append(current)
        }
        return created
    }

    public func isReadWritable(_ path: String) -> Bool {
        guard let real = try? real(path) else { return false }
        return access(real, R_OK | W_OK) == 0
    }

    public func removeDirectory(_ path: String) throws {
        guard rmdir(try real(path, followingLastLink: false)) == 0 else { throw HostError.io(path: path, operation: "rmdir", errno: errno) }
    }
}

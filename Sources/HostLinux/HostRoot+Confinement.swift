#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension HostRoot {
    /// More links than this in one path is a loop (the kernel's own limit).
    static let maximumLinks = 40

    /// `hostPath` with every symbolic link in it resolved inside this root, as the kernel would if
    /// the root were `/`: an absolute link target starts again at the root, and `..` stops at it.
    /// A tree under `VM_HOST_ROOT` can therefore never lead a read or write outside it. With
    /// `followingLastLink` false a link in the last place is kept (to read or remove the link).
    /// Components that do not exist are kept as they are.
    public func confinedHostPath(_ hostPath: String, followingLastLink: Bool = true) throws(HostError) -> String {
        var pending = hostPath.split(separator: "/").map(String.init).reversed() as [String]
        var resolved: [String] = []
        var links = 0
        while let component = pending.popLast() {
            if component == "." { continue }
            if component == ".." {
                _ = resolved.popLast()
                continue
            }
            let real = resolve("/" + (resolved + [component]).joined(separator: "/"))
            var info = stat()
            guard followingLastLink || !pending.isEmpty, lstat(real, &info) == 0, info.st_mode & S_IFMT == S_IFLNK else {
                resolved.append(component)
                continue
            }
            links += 1
            guard links <= Self.maximumLinks else { throw .io(path: hostPath, operation: "resolve", errno: ELOOP) }
            let target = try Self.linkTarget(real, hostPath: hostPath)
            if target.hasPrefix("/") { resolved.removeAll() }
            pending += target.split(separator: "/").map(String.init).reversed()
        }
        return "/" + resolved.joined(separator: "/")
    }

    private static func linkTarget(_ real: String, hostPath: String) throws(HostError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(real, &buffer, buffer.count - 1)
        guard count >= 0 else { throw .io(path: hostPath, operation: "readlink", errno: errno) }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

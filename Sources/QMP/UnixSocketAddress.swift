import Glibc

/// A filesystem path as a Unix socket address (`sockaddr_un`), for `connect(2)` and `bind(2)`.
package struct UnixSocketAddress {
    private var storage = sockaddr_un()

    /// Nil when `path` is empty or does not fit in `sun_path` (107 bytes and a NUL).
    package init?(path: String) {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count < MemoryLayout.size(ofValue: storage.sun_path) else { return nil }
        storage.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
    }

    /// Runs `body` with the address as the pointer and length the socket calls take.
    package func withSockaddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        withUnsafePointer(to: storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}

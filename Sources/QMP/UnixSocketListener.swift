import Glibc

/// A listening `AF_UNIX` stream socket that accepts only peers of allowed users (checked with
/// `SO_PEERCRED`), for serving QMP to local clients (``QMPServer``).
public final class UnixSocketListener: Sendable {
    private let socket: Int32
    public let path: String

    /// Binds `path` (replacing a stale socket file there) with mode 0600 and listens.
    public init(path: String) throws(TransportError) {
        guard let address = UnixSocketAddress(path: path) else { throw .pathTooLong(path) }
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .ioFailed(operation: "socket", errno: errno) }
        _ = unlink(path)
        // Created 0600 from the start: no moment in which another user could connect.
        let previous = umask(0o177)
        let bound = address.withSockaddr { Glibc.bind(fd, $0, $1) }
        let code = errno
        umask(previous)
        guard bound == 0 else {
            _ = Glibc.close(fd)
            throw .ioFailed(operation: "bind \(path)", errno: code)
        }
        guard listen(fd, 64) == 0 else {
            let code = errno
            _ = Glibc.close(fd)
            throw .ioFailed(operation: "listen", errno: code)
        }
        socket = fd
        self.path = path
    }

    deinit {
        _ = Glibc.close(socket)
    }

    /// The listening socket, for handing to another program that serves it (it stays this
    /// listener's: closed when the listener goes).
    public var descriptor: Int32 { socket }

    /// A connected peer and who it is.
    public struct Peer: Sendable {
        public let transport: UnixSocketTransport
        public let uid: UInt32
        public let pid: Int32
    }

    /// Blocks until a peer connects whose uid is root or `allowedUID`; other peers are
    /// disconnected at once. Nil once ``close()`` was called.
    public func accept(allowedUID: UInt32) -> Peer? {
        while true {
            let fd = Glibc.accept(socket, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return nil
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            var credentials = PeerCredentials()
            var length = socklen_t(MemoryLayout<PeerCredentials>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0,
                  credentials.uid == 0 || credentials.uid == allowedUID
            else {
                _ = Glibc.close(fd)
                continue
            }
            // `wrap` closes the descriptor itself when it fails.
            guard let transport = try? UnixSocketTransport.wrap(connected: fd) else { continue }
            return Peer(transport: transport, uid: credentials.uid, pid: credentials.pid)
        }
    }

    /// `struct ucred` (Glibc imports it only with `_GNU_SOURCE`).
    private struct PeerCredentials {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// Stops accepting: a blocked ``accept(allowedUID:)`` returns nil. The socket file stays.
    public func close() {
        _ = shutdown(socket, Int32(SHUT_RDWR))
    }
}

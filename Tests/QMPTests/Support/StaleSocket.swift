import Glibc
import QMP

/// A Unix socket file nobody listens on (what a killed QEMU leaves behind).
func makeStaleSocket(in directory: String) throws -> String {
    let path = "\(directory)/stale.sock"
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    _ = UnixSocketAddress(path: path)!.withSockaddr { bind(fd, $0, $1) }
    close(fd)
    return path
}

import FoundationEssentials
import Glibc

/// An exclusive `flock` on a VM's lock file: `vm up`, `vm down` and hot-swaps of one VM run one
/// at a time, across processes. Released when the value is closed or the process dies.
public final class VMLock: Sendable {
    private let descriptor: Int32

    /// Why the lock could not be taken.
    public enum LockError: Error, CustomStringConvertible {
        case cannotOpen(path: String, errno: Int32)
        case timedOut(path: String)

        public var description: String {
            switch self {
            case .cannotOpen(let path, let code): return "cannot open lock \(path): \(String(cString: strerror(code)))"
            case .timedOut(let path): return "another `vm` command holds \(path); try again when it finishes"
            }
        }
    }

    /// Takes the lock at `path`, waiting up to `timeout` for another holder (suspended, not
    /// blocking a thread).
    public init(path: String, timeout: Duration = .seconds(120)) async throws(LockError) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw .cannotOpen(path: path, errno: errno) }
        let deadline = ContinuousClock.now + timeout
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, ContinuousClock.now < deadline else {
                close(fd)
                throw .timedOut(path: path)
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        descriptor = fd
    }

    deinit {
        close(descriptor)
    }
}

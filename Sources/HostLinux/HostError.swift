#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors from reading or writing the host through a ``HostFileSystem``.
public enum HostError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A system call on `path` failed with `errno`.
    case io(path: String, operation: String, errno: Int32)
    /// `path` holds something that does not parse.
    case malformed(path: String, detail: String)

    public var description: String {
        switch self {
        case let .io(path, operation, code):
            return "\(operation) \(path): \(String(cString: strerror(code)))"
        case let .malformed(path, detail):
            return "\(path): \(detail)"
        }
    }
}

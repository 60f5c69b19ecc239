import Glibc

/// Standard output or standard error, written with `write(2)`. (`vm` links FoundationEssentials,
/// which has no `FileHandle`.)
public enum StandardStream: Sendable {
    case output, error

    /// Its file descriptor.
    public var descriptor: Int32 { self == .output ? STDOUT_FILENO : STDERR_FILENO }

    /// Writes `text` (UTF-8).
    public func write(_ text: String) {
        Self.writeAll(descriptor, Array(text.utf8)[...])
    }

    /// Writes `bytes`.
    public func write(_ bytes: some Collection<UInt8>) {
        Self.writeAll(descriptor, Array(bytes)[...])
    }

    /// Writes all of `bytes` to `descriptor`, going on after short writes and `EINTR`; false when
    /// a write failed (the rest is dropped).
    @discardableResult
    public static func writeAll(_ descriptor: Int32, _ bytes: ArraySlice<UInt8>) -> Bool {
        var rest = bytes
        while !rest.isEmpty {
            let written = rest.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return false }
            rest = rest.dropFirst(written)
        }
        return true
    }
}

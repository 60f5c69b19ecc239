import Glibc

/// A protocol trace: one line per message, `TIMESTAMP >> JSON` for what we send and
/// `TIMESTAMP << JSON` for what we receive. Meant for `--debug`; off by default.
public struct WireLog: Sendable {
    /// Which way a message went.
    public enum Direction: String, Sendable {
        case outgoing = ">>"
        case incoming = "<<"
    }

    private let sink: @Sendable (String) -> Void

    /// A log that hands each formatted line (no trailing newline) to `sink`.
    public init(_ sink: @escaping @Sendable (String) -> Void) {
        self.sink = sink
    }

    /// A log that writes to standard error.
    public static var standardError: WireLog {
        WireLog { line in
            var text = line + "\n"
            text.withUTF8 { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = write(2, bytes.baseAddress! + offset, bytes.count - offset)
                    if written <= 0 { return }
                    offset += written
                }
            }
        }
    }

    /// Records one message (its bytes, without the newline).
    public func record(_ direction: Direction, _ message: UnsafeBufferPointer<UInt8>) {
        sink("\(Self.timestamp()) \(direction.rawValue) \(String(decoding: message, as: UTF8.self))")
    }

    /// UTC wall-clock time with microseconds, e.g. `2026-11-25T12:00:00.123456Z`.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + "\(pad(Int32(now.tv_nsec / 1000), 6))Z"
    }
}

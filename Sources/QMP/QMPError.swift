import Glibc

/// Everything that can go wrong talking QMP.
public enum QMPError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Why a connection attempt failed.
    public enum ConnectFailure: Equatable, Sendable {
        /// No socket at the path (ENOENT): the VM is not running or the path is wrong.
        case noSocket
        /// Nobody listens on it (ECONNREFUSED): a stale socket left by a dead QEMU.
        case refused
        /// The listener's backlog stayed full until the timeout.
        case timedOut
        /// The path does not fit in a Unix socket address.
        case pathTooLong
        /// Any other errno.
        case other(errno: Int32)
    }

    /// Connecting to the monitor socket failed.
    case connectFailed(path: String, reason: ConnectFailure)
    /// The greeting did not arrive in time or was not a QMP greeting.
    case greetingFailed(String)
    /// `qmp_capabilities` was refused or did not complete.
    case negotiationFailed(String)
    /// QEMU answered the command with an error.
    case commandFailed(command: String, errorClass: String, description: String)
    /// `device_del` refused because the guest is still handling an earlier unplug request.
    case guestBusy(command: String, description: String)
    /// The guest refused to release the device (`DEVICE_UNPLUG_GUEST_ERROR`).
    case unplugRejectedByGuest(device: String)
    /// No reply (or awaited event) within the timeout.
    case timeout(command: String, seconds: Double)
    /// The monitor socket is closed (QEMU exited, or the client was closed).
    case closed
    /// An incoming message exceeded the size limit; the connection was dropped.
    case messageTooLarge(limit: Int)
    /// An incoming line was not JSON; the connection was dropped.
    case malformedJSON(excerpt: String)
    /// A reply did not have the shape the typed helper expects.
    case unexpectedReply(command: String, reply: String)
    /// The calling task was cancelled while waiting.
    case cancelled(command: String)

    public var description: String {
        switch self {
        case .connectFailed(let path, let reason):
            switch reason {
            case .noSocket: return "no QMP socket at \(path) (is the VM running?)"
            case .refused: return "connection to \(path) refused (stale socket: QEMU is gone)"
            case .timedOut: return "connecting to \(path) timed out (monitor backlog full)"
            case .pathTooLong: return "socket path too long: \(path)"
            case .other(let code): return "cannot connect to \(path): \(String(cString: strerror(code)))"
            }
        case .greetingFailed(let why): return "QMP greeting failed: \(why)"
        case .negotiationFailed(let why): return "QMP capabilities negotiation failed: \(why)"
        case .commandFailed(let command, let errorClass, let text): return "\(command) failed: \(errorClass): \(text)"
        case .guestBusy(let command, let text): return "\(command): the guest is busy: \(text)"
        case .unplugRejectedByGuest(let device): return "the guest refused to unplug \(device)"
        case .timeout(let command, let seconds): return "\(command): no answer within \(seconds) s"
        case .closed: return "the QMP connection is closed (QEMU exited?)"
        case .messageTooLarge(let limit): return "QMP message larger than \(limit) bytes; connection dropped"
        case .malformedJSON(let excerpt): return "malformed QMP message: \(excerpt)"
        case .unexpectedReply(let command, let reply): return "\(command): unexpected reply \(reply)"
        case .cancelled(let command): return "\(command): cancelled"
        }
    }
}

extension QMPError {
    /// Maps a transport connect failure.
    public init(connecting path: String, _ error: TransportError) {
        switch error {
        case .connectFailed(_, let code) where code == ENOENT: self = .connectFailed(path: path, reason: .noSocket)
        case .connectFailed(_, let code) where code == ECONNREFUSED: self = .connectFailed(path: path, reason: .refused)
        case .connectFailed(_, let code): self = .connectFailed(path: path, reason: .other(errno: code))
        case .connectTimedOut: self = .connectFailed(path: path, reason: .timedOut)
        case .pathTooLong: self = .connectFailed(path: path, reason: .pathTooLong)
        case .ioFailed(_, let code): self = .connectFailed(path: path, reason: .other(errno: code))
        case .closed: self = .closed
        }
    }

    /// The error every waiter gets when the line connection ends this way.
    init(_ end: JSONLineEnd) {
        switch end {
        case .endOfStream, .closedLocally, .transportFailed: self = .closed
        case .lineTooLong(let limit): self = .messageTooLarge(limit: limit)
        case .malformed(let excerpt, _): self = .malformedJSON(excerpt: excerpt)
        }
    }
}

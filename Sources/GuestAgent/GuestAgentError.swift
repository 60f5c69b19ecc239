import QMP

/// Everything that can go wrong talking to the QEMU guest agent.
public enum GuestAgentError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The agent socket could not be opened (the VM is not running, or it has no agent channel).
    case connectFailed(path: String, reason: String)
    /// The channel is open but the agent did not answer the sync handshake in time: qemu-ga is
    /// not running in the guest (or the guest is still booting).
    case notResponding(path: String, seconds: Double)
    /// No reply to `command` within the timeout.
    case timeout(command: String, seconds: Double)
    /// The agent answered `command` with an error.
    case commandFailed(command: String, errorClass: String, description: String)
    /// A reply did not have the shape the typed helper expects.
    case unexpectedReply(command: String, reply: String)
    /// A guest command started by ``GuestAgentClient/exec(path:arguments:captureOutput:timeout:)``
    /// was still running when the timeout passed.
    case execTimedOut(pid: Int64, seconds: Double)
    /// The connection ended (QEMU exited, or the client was closed).
    case closed
    /// A line from the agent was not JSON (or was too long); the connection was dropped.
    case protocolViolation(String)

    public var description: String {
        switch self {
        case .connectFailed(let path, let reason):
            return "cannot open the guest agent socket \(path): \(reason) (is the VM running with guest_agent = true?)"
        case .notResponding(let path, let seconds):
            return "the guest agent on \(path) did not answer within \(seconds) s; is qemu-ga installed and running in the guest?"
        case .timeout(let command, let seconds):
            return "\(command): no answer from the guest agent within \(seconds) s"
        case .commandFailed(let command, let errorClass, let text):
            return "\(command) failed in the guest: \(errorClass): \(text)"
        case .unexpectedReply(let command, let reply):
            return "\(command): unexpected reply from the guest agent: \(reply)"
        case .execTimedOut(let pid, let seconds):
            return "the guest command (pid \(pid)) was still running after \(seconds) s"
        case .closed:
            return "the guest agent connection closed (did the VM stop?)"
        case .protocolViolation(let what):
            return "the guest agent broke the protocol: \(what)"
        }
    }
}

extension GuestAgentError {
    init(_ end: JSONLineEnd) {
        switch end {
        case .endOfStream, .closedLocally, .transportFailed: self = .closed
        case .lineTooLong(let limit): self = .protocolViolation("a reply longer than \(limit) bytes")
        case .malformed(let excerpt, _): self = .protocolViolation("not JSON: \(excerpt)")
        }
    }
}

/// Seconds as a `Double`, for error messages.
func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

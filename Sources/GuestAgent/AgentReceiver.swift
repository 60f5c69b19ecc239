import QMP
import Synchronization

/// Routes agent replies to waiting calls. The agent answers in order and echoes a request's
/// top-level `id`; `guest-sync-delimited` is matched by the token it returns instead, and
/// while a sync is pending every other reply is stale and dropped.
final class AgentReceiver: JSONLineReceiver {
    /// How a reply is matched to a waiting call.
    enum Match: Sendable, Equatable {
        case id(Int64)
        case syncToken(Int64)
    }

    typealias Continuation = CheckedContinuation<Result<JSONValue, GuestAgentError>, Never>

    struct Pending {
        var command: String
        var match: Match
        var continuation: Continuation
    }

    struct State {
        var nextKey = 0
        var pending: [Int: Pending] = [:]
        var ended: GuestAgentError?
    }

    private let state = Mutex(State())

    func newKey() -> Int {
        state.withLock { state in
            defer { state.nextKey += 1 }
            return state.nextKey
        }
    }

    /// Adds a waiting call; resumes it at once (and returns false) when the connection has ended.
    func register(key: Int, command: String, match: Match, continuation: Continuation) -> Bool {
        let ended = state.withLock { state -> GuestAgentError? in
            if let ended = state.ended { return ended }
            state.pending[key] = Pending(command: command, match: match, continuation: continuation)
            return nil
        }
        if let ended {
            continuation.resume(returning: .failure(ended))
            return false
        }
        return true
    }

    /// Fails the call `key` if it still waits (timeouts, send failures).
    func fail(key: Int, with error: GuestAgentError) {
        let pending = state.withLock { $0.pending.removeValue(forKey: key) }
        pending?.continuation.resume(returning: .failure(error))
    }

    func received(_ message: JSONValue) {
        guard case .object(let object) = message else { return }
        let reply: JSONValue
        let isError: Bool
        if let value = object["return"] {
            reply = value
            isError = false
        } else if let error = object["error"] {
            reply = error
            isError = true
        } else {
            return  // the agent sends no events; anything else is noise
        }
        let found = state.withLock { state -> Pending? in
            guard let key = Self.key(for: object["id"], reply: reply, isError: isError, in: state.pending) else { return nil }
            return state.pending.removeValue(forKey: key)
        }
        guard let found else { return }
        if isError {
            found.continuation.resume(returning: .failure(.commandFailed(
                command: found.command, errorClass: reply["class"]?.stringValue ?? "GenericError",
                description: reply["desc"]?.stringValue ?? reply.description)))
        } else {
            found.continuation.resume(returning: .success(reply))
        }
    }

    /// The waiting call a reply belongs to, or nil when it is stale.
    static func key(for id: JSONValue?, reply: JSONValue, isError: Bool, in pending: [Int: Pending]) -> Int? {
        if let sync = pending.first(where: { if case .syncToken = $0.value.match { true } else { false } }) {
            guard !isError, case .syncToken(let token) = sync.value.match, reply.intValue == token else { return nil }
            return sync.key
        }
        if let id = id?.intValue {
            return pending.first(where: { $0.value.match == .id(id) })?.key
        }
        // An agent that does not echo ids: only unambiguous when one call waits.
        return pending.count == 1 ? pending.first?.key : nil
    }

    func timerFired(now: ContinuousClock.Instant) {}

    func ended(_ reason: JSONLineEnd) {
        let error = GuestAgentError(reason)
        let waiting = state.withLock { state -> [Pending] in
            state.ended = error
            defer { state.pending.removeAll() }
            return Array(state.pending.values)
        }
        for pending in waiting { pending.continuation.resume(returning: .failure(error)) }
    }
}

import Logging
import Synchronization

/// The engine under ``QMPClient``: matches replies to callers by id, fans events out to
/// subscribers, enforces deadlines and fails everything at once when the stream ends.
///
/// All routing runs on the connection's reader thread and resumes continuations directly; no
/// task is created per message.
final class QMPDispatcher: JSONLineReceiver {
    typealias Reply = Result<JSONValue, QMPError>

    struct Pending: Sendable {
        let command: String
        let timeout: Duration
        let deadline: ContinuousClock.Instant
        let continuation: CheckedContinuation<Reply, Never>
    }

    struct Subscriber: Sendable {
        let filter: QMPEventFilter
        let continuation: AsyncStream<QMPEvent>.Continuation
    }

    struct State: Sendable {
        var pending: [Int64: Pending] = [:]
        var greetingWaiter: Pending?
        var earlyGreeting: JSONValue?
        var subscribers: [UInt64: Subscriber] = [:]
        var nextSubscriber: UInt64 = 0
        /// Why the stream ended, once it has.
        var ended: QMPError?
        /// The wake-up currently requested from the connection.
        var armedWake: ContinuousClock.Instant?
    }

    let connection: JSONLineConnection
    let logger: Logger
    private let state = Mutex(State())
    private let nextID = Atomic<Int64>(1)

    init(connection: JSONLineConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    // MARK: Calls

    /// Sends `command` and waits for its reply, its deadline, cancellation or the end of the stream.
    func execute(_ command: String, arguments: [String: JSONValue]?, timeout: Duration) async -> Reply {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        var line: [UInt8] = []
        line.reserveCapacity(48 + command.utf8.count)
        line.append(contentsOf: #"{"execute":"#.utf8)
        JSONWriter.writeString(command, to: &line)
        if let arguments {
            line.append(contentsOf: #","arguments":"#.utf8)
            JSONWriter.write(.object(arguments), to: &line)
        }
        line.append(contentsOf: #","id":"#.utf8)
        line.append(contentsOf: String(id).utf8)
        line.append(UInt8(ascii: "}"))
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Reply, Never>) in
                let deadline = ContinuousClock.now.advanced(by: timeout)
                let pending = Pending(command: command, timeout: timeout, deadline: deadline, continuation: continuation)
                let (refused, arm) = state.withLock { state -> (Bool, Bool) in
                    if state.ended != nil { return (true, false) }
                    state.pending[id] = pending
                    return (false, state.arm(deadline))
                }
                if refused {
                    continuation.resume(returning: .failure(.closed))
                    return
                }
                if arm { connection.scheduleWake(at: deadline) }
                if Task.isCancelled {
                    complete(id, with: .failure(.cancelled(command: command)))
                    return
                }
                do {
                    try connection.send(line: line)
                } catch {
                    complete(id, with: .failure(.closed))
                }
            }
        } onCancel: {
            complete(id, with: .failure(.cancelled(command: command)))
        }
    }

    /// Waits for the greeting line.
    func awaitGreeting(timeout: Duration) async -> Reply {
        await withCheckedContinuation { (continuation: CheckedContinuation<Reply, Never>) in
            let deadline = ContinuousClock.now.advanced(by: timeout)
            let pending = Pending(command: "greeting", timeout: timeout, deadline: deadline, continuation: continuation)
            let (immediate, arm) = state.withLock { state -> (Reply?, Bool) in
                if let greeting = state.earlyGreeting { return (.success(greeting), false) }
                if let ended = state.ended { return (.failure(.greetingFailed(ended.description)), false) }
                state.greetingWaiter = pending
                return (nil, state.arm(deadline))
            }
            if let immediate {
                continuation.resume(returning: immediate)
            } else if arm {
                connection.scheduleWake(at: deadline)
            }
        }
    }

    /// Fails one waiter if it is still waiting (the reply may have won the race).
    private func complete(_ id: Int64, with result: Reply) {
        let pending = state.withLock { $0.pending.removeValue(forKey: id) }
        pending?.continuation.resume(returning: result)
    }

    // MARK: Events

    /// A stream of matching events, registered before this returns.
    func subscribe(_ filter: QMPEventFilter) -> AsyncStream<QMPEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: QMPEvent.self, bufferingPolicy: .unbounded)
        let token = state.withLock { state -> UInt64? in
            guard state.ended == nil else { return nil }
            let token = state.nextSubscriber
            state.nextSubscriber += 1
            state.subscribers[token] = Subscriber(filter: filter, continuation: continuation)
            return token
        }
        guard let token else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: token) }
        }
        return stream
    }

    var isEnded: Bool { state.withLock { $0.ended != nil } }

    // MARK: JSONLineReceiver (reader thread)

    func received(_ message: JSONValue) {
        guard case .object(let members) = message else {
            logger.warning("QMP: ignoring a message that is not an object", metadata: ["message": "\(message)"])
            return
        }
        if members["event"] != nil {
            deliverEvent(members)
        } else if let value = members["return"] {
            deliverReply(id: members["id"], value, isError: false, message)
        } else if let error = members["error"] {
            deliverReply(id: members["id"], error, isError: true, message)
        } else if members["QMP"] != nil {
            let waiter = state.withLock { state -> Pending? in
                guard let waiter = state.greetingWaiter else {
                    state.earlyGreeting = message
                    return nil
                }
                state.greetingWaiter = nil
                return waiter
            }
            waiter?.continuation.resume(returning: .success(message))
        } else {
            logger.warning("QMP: ignoring a message of unknown shape", metadata: ["message": "\(message)"])
        }
    }

    private func deliverReply(id: JSONValue?, _ body: JSONValue, isError: Bool, _ message: JSONValue) {
        guard case .int(let number)? = id,
            let pending = state.withLock({ $0.pending.removeValue(forKey: number) })
        else {
            logger.warning("QMP: dropping a reply with an unknown id", metadata: ["message": "\(message)"])
            return
        }
        guard isError else {
            pending.continuation.resume(returning: .success(body))
            return
        }
        let errorClass = body["class"]?.stringValue ?? "GenericError"
        let text = body["desc"]?.stringValue ?? "\(body)"
        let failure: QMPError =
            text.contains("guest is busy")
            ? .guestBusy(command: pending.command, description: text)
            : .commandFailed(command: pending.command, errorClass: errorClass, description: text)
        pending.continuation.resume(returning: .failure(failure))
    }

    private func deliverEvent(_ members: [String: JSONValue]) {
        guard let event = QMPEvent(message: members) else {
            logger.warning("QMP: ignoring an event without a name")
            return
        }
        let targets = state.withLock { state -> [AsyncStream<QMPEvent>.Continuation] in
            if state.subscribers.isEmpty { return [] }
            return state.subscribers.values.filter { $0.filter.matches(event) }.map(\.continuation)
        }
        for target in targets { target.yield(event) }
    }

    func timerFired(now: ContinuousClock.Instant) {
        let (expired, greeting, next) = state.withLock { state -> ([Pending], Pending?, ContinuousClock.Instant?) in
            var expired: [Pending] = []
            var next: ContinuousClock.Instant?
            for (id, pending) in state.pending {
                if pending.deadline <= now {
                    expired.append(pending)
                    state.pending[id] = nil
                } else if next == nil || pending.deadline < next! {
                    next = pending.deadline
                }
            }
            var greeting: Pending?
            if let waiter = state.greetingWaiter {
                if waiter.deadline <= now {
                    greeting = waiter
                    state.greetingWaiter = nil
                } else if next == nil || waiter.deadline < next! {
                    next = waiter.deadline
                }
            }
            state.armedWake = next
            return (expired, greeting, next)
        }
        if let next { connection.scheduleWake(at: next) }
        for pending in expired {
            pending.continuation.resume(returning: .failure(.timeout(command: pending.command, seconds: pending.timeout.seconds)))
        }
        if let greeting {
            let seconds = greeting.timeout.seconds
            greeting.continuation.resume(
                returning: .failure(.greetingFailed("no greeting within \(seconds) s (another client may hold the monitor)")))
        }
    }

    func ended(_ reason: JSONLineEnd) {
        let error = QMPError(reason)
        switch reason {
        case .closedLocally: break
        case .endOfStream(let unterminated) where unterminated == 0:
            logger.debug("QMP: the peer closed the connection")
        default:
            logger.warning("QMP: connection lost", metadata: ["reason": "\(reason)"])
        }
        let (pending, greeting, subscribers) = state.withLock { state in
            state.ended = error
            defer {
                state.pending = [:]
                state.greetingWaiter = nil
                state.subscribers = [:]
            }
            return (Array(state.pending.values), state.greetingWaiter, Array(state.subscribers.values))
        }
        for waiter in pending { waiter.continuation.resume(returning: .failure(error)) }
        greeting?.continuation.resume(returning: .failure(.greetingFailed(error.description)))
        for subscriber in subscribers { subscriber.continuation.finish() }
    }
}

extension QMPDispatcher.State {
    /// Records `deadline` as the next wake-up if it is the earliest; returns whether to tell the
    /// connection.
    mutating func arm(_ deadline: ContinuousClock.Instant) -> Bool {
        if let armedWake, armedWake <= deadline { return false }
        armedWake = deadline
        return true
    }
}

import Glibc
import QMP
import Synchronization

/// A client for the QEMU guest agent (qemu-ga) on the host end of the VM's
/// `org.qemu.guest_agent.0` virtio-serial channel.
///
/// ```swift
/// let agent = try await GuestAgentClient.connect(path: paths.agentSocket)
/// defer { agent.close() }
/// let result = try await agent.exec(path: "/bin/echo", arguments: ["hi"])
/// ```
///
/// The framing is QMP's (one JSON value per line, over the QMP module's ``JSONLineConnection``),
/// but the agent has no greeting and keeps no per-client state: whatever an earlier client left
/// unread is still in the channel. ``connect(path:timeout:)`` therefore sends `0xFF` (the agent
/// drops any half-read request) and `guest-sync-delimited` with a random id, drops everything
/// before the agent's `0xFF` reply marker, and waits for its own id to come back.
public final class GuestAgentClient: Sendable {
    let connection: JSONLineConnection
    let receiver: AgentReceiver
    /// Default per-command timeout.
    public let timeout: Duration
    private let nextID: Atomic<Int64>

    private init(connection: JSONLineConnection, receiver: AgentReceiver, timeout: Duration, firstID: Int64) {
        self.connection = connection
        self.receiver = receiver
        self.timeout = timeout
        self.nextID = Atomic(firstID)
    }

    /// Opens the agent socket at `path` and synchronises with the agent. `timeout` bounds the
    /// connect and the sync, and is the default for later commands.
    public static func connect(path: String, timeout: Duration = .seconds(10)) async throws(GuestAgentError) -> GuestAgentClient {
        let transport: UnixSocketTransport
        do {
            transport = try await UnixSocketTransport.connect(path: path, timeout: timeout)
        } catch {
            throw .connectFailed(path: path, reason: Self.describe(error))
        }
        return try await connect(transport: transport, timeout: timeout, name: path)
    }

    /// Speaks the agent protocol over an already connected transport (tests, other channels).
    public static func connect(transport: any ByteTransport, timeout: Duration = .seconds(10),
                               name: String = "agent") async throws(GuestAgentError) -> GuestAgentClient {
        let connection = JSONLineConnection(transport: SyncDelimiterTransport(transport), maximumLineLength: 16 * 1024 * 1024)
        let receiver = AgentReceiver()
        connection.start(receiver: receiver)
        let token = Int64.random(in: 1...0x7fff_ffff)
        let client = GuestAgentClient(connection: connection, receiver: receiver, timeout: timeout, firstID: token + 1)
        do throws(GuestAgentError) {
            do {
                try connection.send(line: [syncDelimiter])
            } catch {
                throw GuestAgentError.closed
            }
            let reply: JSONValue
            do {
                reply = try await client.send("guest-sync-delimited", arguments: ["id": .int(token)], match: .syncToken(token), timeout: timeout)
            } catch .timeout {
                throw GuestAgentError.notResponding(path: name, seconds: seconds(timeout))
            }
            guard reply.intValue == token else {
                throw GuestAgentError.unexpectedReply(command: "guest-sync-delimited", reply: reply.description)
            }
            return client
        } catch {
            connection.close()
            throw error
        }
    }

    /// Runs an agent command and returns its `return` value.
    public func execute(_ command: String, arguments: [String: JSONValue]? = nil, timeout: Duration? = nil) async throws(GuestAgentError) -> JSONValue {
        let id = nextID.add(1, ordering: .relaxed).oldValue
        return try await send(command, arguments: arguments, match: .id(id), timeout: timeout ?? self.timeout)
    }

    func send(_ command: String, arguments: [String: JSONValue]?, match: AgentReceiver.Match, timeout: Duration) async throws(GuestAgentError) -> JSONValue {
        var message: [String: JSONValue] = ["execute": .string(command)]
        if let arguments { message["arguments"] = .object(arguments) }
        if case .id(let id) = match { message["id"] = .int(id) }
        let key = receiver.newKey()
        let timer = TimerHandle()
        defer { timer.cancel() }
        let result: Result<JSONValue, GuestAgentError> = await withCheckedContinuation { continuation in
            guard receiver.register(key: key, command: command, match: match, continuation: continuation) else { return }
            do {
                try connection.send(.object(message))
            } catch {
                receiver.fail(key: key, with: .closed)
                return
            }
            timer.start(after: timeout) { [receiver] in
                receiver.fail(key: key, with: .timeout(command: command, seconds: seconds(timeout)))
            }
        }
        return try result.get()
    }

    /// Closes the connection; waiting calls fail with ``GuestAgentError/closed``.
    public func close() {
        connection.close()
    }

    static func describe(_ error: TransportError) -> String {
        switch error {
        case .connectFailed(_, let code): return String(cString: strerror(code))
        case .connectTimedOut: return "timed out"
        case .pathTooLong(let path): return "path too long (\(path.utf8.count) bytes)"
        case .ioFailed(let operation, let code): return "\(operation): \(String(cString: strerror(code)))"
        case .closed: return "closed"
        }
    }
}

/// The timeout of one call: fires once unless cancelled first.
final class TimerHandle: Sendable {
    private let task = Mutex<Task<Void, Never>?>(nil)

    func start(after delay: Duration, _ action: @escaping @Sendable () -> Void) {
        let started = Task {
            guard (try? await Task.sleep(for: delay)) != nil else { return }
            action()
        }
        task.withLock { $0 = started }
    }

    func cancel() {
        task.withLock { $0?.cancel() }
    }
}

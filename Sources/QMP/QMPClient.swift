import Logging

/// A QMP client: one connection to one QEMU monitor.
///
/// ```swift
/// let qmp = try await QMPClient.connect(path: paths.qmpSocket, logger: logger)
/// defer { qmp.close() }
/// let status = try await qmp.queryStatus()
/// ```
///
/// Calls may come from any number of tasks at once; each waits for its own reply (matched by a
/// client-generated id) with its own timeout. When the socket closes, every waiting call fails at
/// once and later calls fail with ``QMPError/closed``. Call ``close()`` when done; releasing the
/// client closes the connection too.
public final class QMPClient: Sendable {
    /// Connection settings.
    public struct Options: Sendable {
        /// Incoming messages longer than this end the connection with ``QMPError/messageTooLarge(limit:)``.
        public var maximumMessageSize: Int
        /// Per-command timeouts.
        public var timeouts: QMPTimeouts
        /// Protocol trace, e.g. ``WireLog/standardError`` for `--debug`.
        public var wireLog: WireLog?
        /// Enable the `oob` capability when QEMU offers it.
        public var enableOutOfBand: Bool

        public init(
            maximumMessageSize: Int = 10 * 1024 * 1024, timeouts: QMPTimeouts = QMPTimeouts(),
            wireLog: WireLog? = nil, enableOutOfBand: Bool = true
        ) {
            self.maximumMessageSize = maximumMessageSize
            self.timeouts = timeouts
            self.wireLog = wireLog
            self.enableOutOfBand = enableOutOfBand
        }
    }

    /// What QEMU announced on connect.
    public let greeting: QMPGreeting
    /// Capabilities enabled by `qmp_capabilities`.
    public let enabledCapabilities: [String]
    /// The timeout table used when a call gives none.
    public let timeouts: QMPTimeouts
    let dispatcher: QMPDispatcher

    deinit {
        dispatcher.connection.close()
    }

    /// The QEMU version from the greeting.
    public var version: QMPVersion { greeting.version }

    private init(greeting: QMPGreeting, enabledCapabilities: [String], timeouts: QMPTimeouts, dispatcher: QMPDispatcher) {
        self.greeting = greeting
        self.enabledCapabilities = enabledCapabilities
        self.timeouts = timeouts
        self.dispatcher = dispatcher
    }

    /// Connects to the monitor socket at `path`, reads the greeting and negotiates capabilities.
    /// `timeout` bounds each of the three steps.
    public static func connect(
        path: String, timeout: Duration = .seconds(5), options: Options = Options(),
        logger: Logger = Logger(label: "vm.qmp")
    ) async throws(QMPError) -> QMPClient {
        let transport: UnixSocketTransport
        do {
            transport = try await UnixSocketTransport.connect(path: path, timeout: timeout)
        } catch {
            throw QMPError(connecting: path, error)
        }
        return try await connect(transport: transport, timeout: timeout, options: options, logger: logger)
    }

    /// Speaks QMP over an already connected transport.
    /// - Parameter greeted: called with the greeting before capabilities are negotiated. QEMU
    ///   greets as soon as it accepts the connection, early in its start, but answers commands
    ///   (`qmp_capabilities` too) only once the machine is initialised, which takes far longer.
    public static func connect(
        transport: any ByteTransport, timeout: Duration = .seconds(5), options: Options = Options(),
        logger: Logger = Logger(label: "vm.qmp"), greeted: @Sendable (QMPGreeting) -> Void = { _ in }
    ) async throws(QMPError) -> QMPClient {
        let (client, negotiation) = try await connectQueuing(
            transport: transport, timeout: timeout, options: options, logger: logger, greeted: greeted)
        if case .failure(let error) = await negotiation.value {
            client.close()
            throw error
        }
        return client
    }

    /// Speaks QMP over an already connected transport, as ``connect(transport:timeout:options:logger:greeted:)``
    /// does, but returns once `qmp_capabilities` is sent, before QEMU answers it. QEMU handles a
    /// connection's commands in order, so the commands sent on `client` from now on are answered
    /// right after the negotiation: a client can queue its first commands while QEMU still starts.
    /// (QEMU reads the next command, a byte per main-loop turn, only once it has dispatched
    /// `qmp_capabilities`; a queued command is then already waiting in its socket.) `negotiation`
    /// ends with QEMU's answer to `qmp_capabilities`; when it fails, so do the commands sent after it.
    public static func connectQueuing(
        transport: any ByteTransport, timeout: Duration = .seconds(5), options: Options = Options(),
        logger: Logger = Logger(label: "vm.qmp"), greeted: @Sendable (QMPGreeting) -> Void = { _ in }
    ) async throws(QMPError) -> (client: QMPClient, negotiation: Task<Result<Void, QMPError>, Never>) {
        let connection = JSONLineConnection(
            transport: transport, maximumLineLength: options.maximumMessageSize, wireLog: options.wireLog)
        let dispatcher = QMPDispatcher(connection: connection, logger: logger)
        connection.start(receiver: dispatcher)
        do throws(QMPError) {
            let message = try await dispatcher.awaitGreeting(timeout: timeout).get()
            guard let greeting = QMPGreeting(message: message) else {
                throw QMPError.greetingFailed("not a QMP greeting: \(message)")
            }
            greeted(greeting)
            let enable = options.enableOutOfBand && greeting.capabilities.contains("oob") ? ["oob"] : []
            let arguments: [String: JSONValue]? = enable.isEmpty ? nil : ["enable": .array(enable.map(JSONValue.string))]
            // An immediate task runs here, up to its first wait, which comes after the send: the
            // negotiation is on the wire before any command sent on the client.
            let negotiation = Task.immediate { () -> Result<Void, QMPError> in
                switch await dispatcher.execute("qmp_capabilities", arguments: arguments, timeout: timeout) {
                case .success: return .success(())
                case .failure(let error): return .failure(.negotiationFailed(error.description))
                }
            }
            let client = QMPClient(
                greeting: greeting, enabledCapabilities: enable, timeouts: options.timeouts, dispatcher: dispatcher)
            return (client, negotiation)
        } catch {
            connection.close()
            throw error
        }
    }

    /// Runs `command` and returns its `return` value.
    /// - Parameter timeout: overrides the ``timeouts`` table for this call.
    public func execute(
        _ command: String, arguments: [String: JSONValue]? = nil, timeout: Duration? = nil
    ) async throws(QMPError) -> JSONValue {
        try await dispatcher.execute(command, arguments: arguments, timeout: timeout ?? timeouts.timeout(for: command)).get()
    }

    /// Events matching `filter` from now until the connection ends (the stream then finishes).
    /// The subscription is in place when this returns, so subscribe first, then send the command
    /// whose event you expect.
    public func events(matching filter: QMPEventFilter = .all) -> AsyncStream<QMPEvent> {
        dispatcher.subscribe(filter)
    }

    /// Runs `command`, then waits for the first event matching `filter` that arrives after the
    /// command was sent (the subscription starts before sending, so it cannot be missed).
    public func execute(
        _ command: String, arguments: [String: JSONValue]? = nil, timeout: Duration? = nil,
        thenAwaitEvent filter: QMPEventFilter, eventTimeout: Duration
    ) async throws(QMPError) -> (reply: JSONValue, event: QMPEvent) {
        let stream = events(matching: filter)
        let reply = try await execute(command, arguments: arguments, timeout: timeout)
        let event = try await QMPEventWait.first(in: stream, timeout: eventTimeout, waitingFor: "event after \(command)")
        return (reply, event)
    }

    /// Closes the connection: waiting calls fail with ``QMPError/closed``, event streams finish.
    public func close() {
        dispatcher.connection.close()
    }

    /// Runs tasks on the connection's reader thread. A task that makes many calls back to back
    /// can prefer it (`Task(executorPreference: client.executor) { ... }`) to save a thread
    /// hand-off per call; its code must not block, as the connection reads only between its jobs.
    public var executor: ReaderThreadExecutor { dispatcher.connection.executor }

    /// Whether the connection has ended.
    public var isClosed: Bool { dispatcher.isEnded }
}

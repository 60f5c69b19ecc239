import FoundationEssentials
import Glibc
import Synchronization
import OSThreads

/// Serves the QMP protocol to any number of clients at once, the way QEMU serves one: a greeting,
/// `qmp_capabilities` negotiation, then commands answered under the id each client chose, and
/// events sent to every negotiated client. What a command does is up to the ``Handler``; a VM's
/// supervisor forwards them to QEMU's own monitor (`vm` holds the one connection QEMU allows and
/// shares it this way).
///
/// The server offers no capabilities (no `oob`), whatever the greeting it copies says.
public final class QMPServer: Sendable {
    /// Why a command failed, as QMP's `{"error": {"class": ..., "desc": ...}}`.
    public struct Failure: Error, Sendable, Equatable {
        public var errorClass: String
        public var description: String

        public init(errorClass: String, description: String) {
            self.errorClass = errorClass
            self.description = description
        }
    }

    /// Runs one command for a client and returns its `return` value or its error.
    public typealias Handler = @Sendable (_ command: String, _ arguments: [String: JSONValue]?) async -> Result<JSONValue, Failure>

    private let greeting: JSONValue
    private let handler: Handler
    private let clients = Mutex<(next: Int, open: [Int: Client], closed: Bool)>((0, [:], false))
    private let listener = Mutex<UnixSocketListener?>(nil)

    /// - Parameters:
    ///   - greeting: the `{"QMP": {...}}` message to send first (its capabilities are replaced by none).
    ///   - handler: runs the commands of every client (concurrently).
    public init(greeting: JSONValue, handler: @escaping Handler) {
        var body = greeting["QMP"]?.objectValue ?? [:]
        body["capabilities"] = .array([])
        self.greeting = .object(["QMP": .object(body)])
        self.handler = handler
    }

    /// Accepts clients on `listener` (those of root and `allowedUID`) on a thread of its own
    /// until ``closeAll()``.
    public func serve(_ listener: UnixSocketListener, allowedUID: UInt32) {
        self.listener.withLock { $0 = listener }
        DetachedThread.start(name: "qmp-server-accept") { [self] in
            while let peer = listener.accept(allowedUID: allowedUID) {
                add(peer.transport)
            }
        }
    }

    /// Sends `event` to every client that has negotiated.
    public func broadcast(_ event: QMPEvent) {
        var message: [String: JSONValue] = ["event": .string(event.name)]
        if event.data != .null { message["data"] = event.data }
        if event.timestamp >= 0 {
            let seconds = event.timestamp.rounded(.down)
            message["timestamp"] = ["seconds": .int(Int64(seconds)),
                                    "microseconds": .int(Int64(((event.timestamp - seconds) * 1_000_000).rounded()))]
        }
        let line = JSONWriter.bytes(.object(message))
        for client in clients.withLock({ Array($0.open.values) }) where client.isNegotiated {
            client.send(line)
        }
    }

    /// Stops accepting and disconnects every client (they read the end of the stream).
    public func closeAll() {
        listener.withLock { $0?.close() }
        let open = clients.withLock { state -> [Client] in
            state.closed = true
            defer { state.open = [:] }
            return Array(state.open.values)
        }
        for client in open { client.connection.close() }
    }

    private func add(_ transport: UnixSocketTransport) {
        let connection = JSONLineConnection(transport: transport, maximumLineLength: 10 * 1024 * 1024)
        let id = clients.withLock { state -> Int? in
            guard !state.closed else { return nil }
            defer { state.next += 1 }
            return state.next
        }
        guard let id else { return connection.close() }
        let client = Client(id: id, connection: connection, server: self)
        clients.withLock { $0.open[id] = client }
        client.send(JSONWriter.bytes(greeting))
        connection.start(receiver: client)
    }

    fileprivate func remove(_ id: Int) {
        _ = clients.withLock { $0.open.removeValue(forKey: id) }
    }

    fileprivate func run(_ command: String, _ arguments: [String: JSONValue]?) async -> Result<JSONValue, Failure> {
        await handler(command, arguments)
    }

    /// One connected client.
    private final class Client: JSONLineReceiver, Sendable {
        let id: Int
        let connection: JSONLineConnection
        let server: QMPServer
        private let negotiated = Atomic<Bool>(false)

        init(id: Int, connection: JSONLineConnection, server: QMPServer) {
            self.id = id
            self.connection = connection
            self.server = server
        }

        var isNegotiated: Bool { negotiated.load(ordering: .acquiring) }

        func send(_ line: [UInt8]) {
            do {
                try connection.send(line: line)
            } catch {
                connection.close()
            }
        }

        func received(_ message: JSONValue) {
            let id = message["id"]
            guard let command = (message["execute"] ?? message["exec-oob"])?.stringValue else {
                return reply(id, .failure(Failure(errorClass: "GenericError", description: "QMP input lacks member 'execute'")))
            }
            let arguments = message["arguments"]?.objectValue
            if command == "qmp_capabilities" {
                let first = !negotiated.exchange(true, ordering: .acquiringAndReleasing)
                return reply(id, first ? .success(.object([:]))
                             : .failure(Failure(errorClass: "CommandNotFound",
                                                description: "Capabilities negotiation is already complete, command ignored")))
            }
            guard isNegotiated else {
                return reply(id, .failure(Failure(errorClass: "CommandNotFound",
                                                  description: "Expecting capabilities negotiation with 'qmp_capabilities'")))
            }
            Task { [self] in reply(id, await server.run(command, arguments)) }
        }

        private func reply(_ id: JSONValue?, _ result: Result<JSONValue, Failure>) {
            var message: [String: JSONValue]
            switch result {
            case .success(let value): message = ["return": value]
            case .failure(let failure):
                message = ["error": ["class": .string(failure.errorClass), "desc": .string(failure.description)]]
            }
            if let id { message["id"] = id }
            send(JSONWriter.bytes(.object(message)))
        }

        func timerFired(now: ContinuousClock.Instant) {}

        func ended(_ reason: JSONLineEnd) {
            server.remove(id)
        }
    }
}

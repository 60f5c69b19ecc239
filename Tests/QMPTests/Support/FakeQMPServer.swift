import Foundation
import Glibc
import QMP

/// A fault-injecting QMP server on a Unix socket, for tests. It accepts one client and runs a
/// script on its own thread; the script talks to the client through a ``FakePeer``.
final class FakeQMPServer: Sendable {
    let directory: String
    let path: String
    private let listener: Int32

    /// Listens at a fresh path and runs `script` for the first client.
    init(script: @escaping @Sendable (FakePeer) throws -> Void) {
        directory = makeTemporaryDirectory(prefix: "qmpf")
        path = "\(directory)/fake.sock"
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        precondition(listener >= 0)
        self.listener = listener
        let bound = UnixSocketAddress(path: path)!.withSockaddr { bind(listener, $0, $1) }
        precondition(bound == 0 && listen(listener, 4) == 0)
        let thread = Thread {
            var ready = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 60_000) == 1 else { return }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let peer = FakePeer(fd: client)
            try? script(peer)
            peer.close()
        }
        thread.start()
    }

    deinit {
        Glibc.close(listener)
        removeTemporaryDirectory(directory)
    }
}

/// The server side of one fake connection.
final class FakePeer: @unchecked Sendable {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var closed = false

    struct Gone: Error {}

    init(fd: Int32) { self.fd = fd }

    /// Sends `text` and a newline.
    func send(_ text: String) throws {
        try sendRaw(Array(text.utf8) + [0x0A])
    }

    /// Sends bytes exactly as given.
    func sendRaw(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { throw Gone() }
            offset += sent
        }
    }

    /// The next line from the client, or `nil` on EOF or after `timeout`.
    func readLine(timeout: Duration = .seconds(60)) -> String? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            let left = deadline - .now
            guard left > .zero else { return nil }
            var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(min(left.components.seconds * 1000 + 1, 60_000))
            guard poll(&ready, 1, milliseconds) >= 0 else { return nil }
            if ready.revents == 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = recv(fd, &chunk, chunk.count, 0)
            guard count > 0 else { return nil }
            buffer.append(contentsOf: chunk[..<count])
        }
    }

    /// The next command: its name, id (as JSON text) and arguments.
    func readCommand(timeout: Duration = .seconds(60)) throws -> (name: String, id: String, arguments: JSONValue) {
        guard let line = readLine(timeout: timeout) else { throw Gone() }
        let message = try JSONParser.parse(line)
        guard let name = message["execute"]?.stringValue, let id = message["id"] else { throw Gone() }
        return (name, id.description, message["arguments"] ?? .null)
    }

    /// Sends the QEMU 7.2 greeting.
    func greet() throws {
        try send(#"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "fake"}, "capabilities": ["oob"]}}"#)
    }

    /// Greets and answers `qmp_capabilities`.
    func greetAndNegotiate() throws {
        try greet()
        let command = try readCommand()
        guard command.name == "qmp_capabilities" else { throw Gone() }
        try reply(id: command.id)
    }

    /// Sends `{"return": VALUE, "id": ID}`.
    func reply(id: String, _ value: String = "{}") throws {
        try send(#"{"return": \#(value), "id": \#(id)}"#)
    }

    /// Sends an event.
    func event(_ name: String, data: String = "{}") throws {
        try send(#"{"event": "\#(name)", "data": \#(data), "timestamp": {"seconds": 1, "microseconds": 2}}"#)
    }

    /// Waits until the client hangs up (or `timeout`).
    func waitForHangUp(timeout: Duration = .seconds(60)) {
        while readLine(timeout: timeout) != nil {}
    }

    /// Closes the connection.
    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }
}

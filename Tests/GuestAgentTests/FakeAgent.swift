import Foundation
import Glibc
import QMP
import Synchronization

/// A scripted qemu-ga on a Unix socket, for fault injection: stale bytes on connect, replies
/// decided per request (or none, for timeouts), malformed lines.
final class FakeAgent: Sendable {
    /// What to write back for a request (raw bytes, each chunk written as is).
    typealias Handler = @Sendable (_ command: String, _ request: JSONValue) -> [[UInt8]]

    let path: String
    private let listener: Int32
    let requests = Mutex<[String]>([])

    init(directory: String, staleOnConnect: [UInt8] = [], handler: @escaping Handler) throws {
        path = directory + "/qga.sock"
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        let bound = UnixSocketAddress(path: path)?.withSockaddr { bind(listener, $0, $1) }
        guard bound == 0, listen(listener, 4) == 0 else { throw POSIXError(.EADDRINUSE) }
        let thread = Thread { [self] in
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            defer { Glibc.close(client) }
            if !staleOnConnect.isEmpty { Self.write(client, staleOnConnect) }
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(client, &buffer, buffer.count, 0)
                guard count > 0 else { return }
                pending += buffer[..<count].filter { $0 != 0xFF }
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = Array(pending[..<newline])
                    pending.removeFirst(newline + 1)
                    guard !line.allSatisfy({ $0 == 0x20 }), let request = try? JSONParser.parse(line) else { continue }
                    let command = request["execute"]?.stringValue ?? ""
                    requests.withLock { $0.append(command) }
                    for chunk in handler(command, request) { Self.write(client, chunk) }
                }
            }
        }
        thread.start()
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
    }

    static func write(_ fd: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// A reply line echoing the request's id.
    static func reply(_ request: JSONValue, _ value: JSONValue) -> [UInt8] {
        var object: [String: JSONValue] = ["return": value]
        if let id = request["id"] { object["id"] = id }
        return JSONWriter.bytes(.object(object)) + [0x0A]
    }

    /// The sync reply: the 0xFF marker and the token.
    static func syncReply(_ request: JSONValue) -> [UInt8] {
        [0xFF] + JSONWriter.bytes(["return": request["arguments"]?["id"] ?? .null]) + [0x0A]
    }

    /// Answers sync and ping; `rest` handles the others.
    static func standard(_ rest: @escaping Handler = { _, _ in [] }) -> Handler {
        { command, request in
            switch command {
            case "guest-sync-delimited": return [syncReply(request)]
            case "guest-ping": return [reply(request, [:])]
            default: return rest(command, request)
            }
        }
    }
}

/// A private temporary folder (short path for socket names).
final class TemporaryFolder: @unchecked Sendable {
    let path: String
    init() throws {
        var template = Array("/tmp/vga-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
        path = String(cString: made)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

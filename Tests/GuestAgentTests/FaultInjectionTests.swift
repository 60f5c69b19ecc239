import Foundation
import Synchronization
import Testing
import QMP
@testable import GuestAgent

@Suite("Guest agent against a fault-injecting fake")
struct FaultInjectionTests {
    @Test("stale replies and a half line before the sync are dropped")
    func staleDataBeforeSync() async throws {
        let folder = try TemporaryFolder()
        let stale = Array(#"{"return": {}}"#.utf8) + [0x0A] + Array(#"{"return": 7}"#.utf8) + [0x0A] + Array(#"{"ret"#.utf8)
        let agent = try FakeAgent(directory: folder.path, staleOnConnect: stale, handler: FakeAgent.standard())
        let client = try await GuestAgentClient.connect(path: agent.path, timeout: .seconds(10))
        defer { client.close() }
        try await client.ping()
        #expect(agent.requests.withLock { $0 } == ["guest-sync-delimited", "guest-ping"])
    }

    @Test("a stale reply after an earlier client's sync marker does not complete our sync")
    func earlierSyncMarker() async throws {
        let folder = try TemporaryFolder()
        let stale: [UInt8] = [0xFF] + Array(#"{"return": 12345}"#.utf8) + [0x0A]
        let agent = try FakeAgent(directory: folder.path, staleOnConnect: stale, handler: FakeAgent.standard())
        let client = try await GuestAgentClient.connect(path: agent.path)
        defer { client.close() }
        try await client.ping()
    }

    @Test("no agent in the guest: the sync times out as notResponding")
    func silentAgent() async throws {
        let folder = try TemporaryFolder()
        let agent = try FakeAgent(directory: folder.path) { _, _ in [] }
        await #expect(throws: GuestAgentError.notResponding(path: agent.path, seconds: 0.5)) {
            _ = try await GuestAgentClient.connect(path: agent.path, timeout: .milliseconds(500))
        }
    }

    @Test("a command without reply times out; the next one still works")
    func commandTimeout() async throws {
        let folder = try TemporaryFolder()
        let agent = try FakeAgent(directory: folder.path, handler: FakeAgent.standard { command, request in
            command == "guest-info" ? [] : [FakeAgent.reply(request, ["version": "9.9"])]
        })
        let client = try await GuestAgentClient.connect(path: agent.path)
        defer { client.close() }
        await #expect(throws: GuestAgentError.timeout(command: "guest-info", seconds: 0.3)) {
            _ = try await client.execute("guest-info", timeout: .milliseconds(300))
        }
        try await client.ping()
    }

    @Test("an error reply becomes commandFailed with its class")
    func errorReply() async throws {
        let folder = try TemporaryFolder()
        let agent = try FakeAgent(directory: folder.path, handler: FakeAgent.standard { _, request in
            var object: [String: JSONValue] = ["error": ["class": "CommandNotFound", "desc": "The command guest-foo has not been found"]]
            object["id"] = request["id"]
            return [JSONWriter.bytes(.object(object)) + [0x0A]]
        })
        let client = try await GuestAgentClient.connect(path: agent.path)
        defer { client.close() }
        await #expect(throws: GuestAgentError.commandFailed(command: "guest-foo", errorClass: "CommandNotFound",
                                                            description: "The command guest-foo has not been found")) {
            _ = try await client.execute("guest-foo")
        }
    }

    @Test("a malformed line ends the connection as a protocol violation; later calls fail closed")
    func malformedReply() async throws {
        let folder = try TemporaryFolder()
        let agent = try FakeAgent(directory: folder.path, handler: FakeAgent.standard { _, _ in [Array("not json\n".utf8)] })
        let client = try await GuestAgentClient.connect(path: agent.path)
        defer { client.close() }
        await #expect(throws: GuestAgentError.protocolViolation("not JSON: not json")) {
            _ = try await client.execute("guest-info")
        }
        await #expect(throws: GuestAgentError.protocolViolation("not JSON: not json")) { try await client.ping() }
    }

    @Test("guest-exec without a pid is an unexpected reply")
    func execBadReply() async throws {
        let folder = try TemporaryFolder()
        let agent = try FakeAgent(directory: folder.path, handler: FakeAgent.standard { _, request in
            [FakeAgent.reply(request, "nope")]
        })
        let client = try await GuestAgentClient.connect(path: agent.path)
        defer { client.close() }
        await #expect(throws: GuestAgentError.unexpectedReply(command: "guest-exec", reply: "\"nope\"")) {
            _ = try await client.exec(path: "/bin/true")
        }
    }

    @Test("exec polls guest-exec-status until it exits and decodes the output")
    func execPolls() async throws {
        let folder = try TemporaryFolder()
        let polls = PollCounter()
        let agent = try FakeAgent(directory: folder.path, handler: FakeAgent.standard { command, request in
            switch command {
            case "guest-exec": return [FakeAgent.reply(request, ["pid": 42])]
            case "guest-exec-status":
                guard polls.next() >= 3 else { return [FakeAgent.reply(request, ["exited": false])] }
                return [FakeAgent.reply(request, [
                    "exited": true, "exitcode": 3,
                    "out-data": .string(Data("hi\n".utf8).base64EncodedString()),
                    "err-data": .string(Data("oops".utf8).base64EncodedString()),
                ])]
            default: return []
            }
        })
        let client = try await GuestAgentClient.connect(path: agent.path)
        defer { client.close() }
        let result = try await client.exec(path: "/bin/sh", arguments: ["-c", "x"], pollInterval: .milliseconds(10))
        #expect(result == GuestExecResult(pid: 42, exitCode: 3, signal: nil, standardOutput: Data("hi\n".utf8),
                                          standardError: Data("oops".utf8), truncated: false))
    }

    @Test("a guest command that never ends gives execTimedOut")
    func execTimeout() async throws {
        let folder = try TemporaryFolder()
        let agent = try FakeAgent(directory: folder.path, handler: FakeAgent.standard { command, request in
            command == "guest-exec" ? [FakeAgent.reply(request, ["pid": 7])] : [FakeAgent.reply(request, ["exited": false])]
        })
        let client = try await GuestAgentClient.connect(path: agent.path)
        defer { client.close() }
        await #expect(throws: GuestAgentError.execTimedOut(pid: 7, seconds: 0.3)) {
            _ = try await client.exec(path: "/bin/sleep", arguments: ["99"], timeout: .milliseconds(300), pollInterval: .milliseconds(20))
        }
    }

    @Test("no socket: connectFailed")
    func noSocket() async throws {
        let folder = try TemporaryFolder()
        await #expect(throws: GuestAgentError.connectFailed(path: folder.path + "/none.sock", reason: "No such file or directory")) {
            _ = try await GuestAgentClient.connect(path: folder.path + "/none.sock")
        }
    }

    @Test("the agent closing the channel fails the waiting call with closed")
    func agentCloses() async throws {
        let folder = try TemporaryFolder()
        let agent = try FakeAgent(directory: folder.path, handler: FakeAgent.standard { _, _ in [] })
        let client = try await GuestAgentClient.connect(path: agent.path)
        let waiting = Task { try await client.execute("guest-info", timeout: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(100))
        client.close()
        await #expect(throws: GuestAgentError.closed) { _ = try await waiting.value }
    }
}

final class PollCounter: Sendable {
    private let count = Mutex(0)
    func next() -> Int { count.withLock { $0 += 1; return $0 } }
}

@Suite("Guest agent reply parsing")
struct ParsingTests {
    @Test func infoParsing() throws {
        let reply = try JSONParser.parse(#"{"version":"7.2.0","supported_commands":[{"name":"guest-ping","enabled":true},{"name":"guest-exec","enabled":false}]}"#)
        #expect(GuestInfo.parse(guestInfo: reply) == GuestInfo(agentVersion: "7.2.0", enabledCommands: ["guest-ping"]))
        let interfaces = try JSONParser.parse(#"[{"name":"eth0","hardware-address":"52:54:00:12:34:56","ip-addresses":[{"ip-address-type":"ipv4","ip-address":"10.0.2.15","prefix":24}]}]"#)
        #expect(GuestInterface.parse(list: interfaces) == [GuestInterface(name: "eth0", hardwareAddress: "52:54:00:12:34:56", addresses: ["10.0.2.15/24"])])
    }

    @Test func delimiterFilter() {
        var bytes: [UInt8] = Array("stale\n{\"ret".utf8) + [0xFF] + Array("{\"return\":1}\n".utf8)
        let discarding = Atomic(true)
        let kept = bytes.withUnsafeMutableBytes { SyncDelimiterTransport.filter($0, count: $0.count, discarding: discarding) }
        #expect(Array(bytes[..<kept]) == Array("{\"return\":1}\n".utf8))
        #expect(discarding.load(ordering: .relaxed) == false)
    }
}

import Logging
import QMP
import Synchronization
import Testing

/// Against a fake server that misbehaves on purpose. Every case must end in the right typed error
/// within its timeout, never hang, and never hand a reply to the wrong caller.
@Suite("QMP against a fault-injecting server", .timeLimit(.minutes(2)))
struct FaultInjectionTests {
    private func connect(_ server: FakeQMPServer, options: QMPClient.Options = .init()) async throws -> QMPClient {
        try await QMPClient.connect(path: server.path, timeout: .seconds(20), options: options)
    }

    @Test("a garbage line fails the waiting call with .malformedJSON")
    func garbageLine() async throws {
        let server = FakeQMPServer { peer in
            try peer.greetAndNegotiate()
            _ = try peer.readCommand()
            try peer.send("this is not json {")
            peer.waitForHangUp()
        }
        let client = try await connect(server)
        defer { client.close() }
        await #expect(throws: QMPError.malformedJSON(excerpt: "this is not json {")) {
            try await client.execute("query-status")
        }
        await #expect(throws: QMPError.closed) { try await client.execute("query-status") }
    }

    @Test("a truncated reply followed by close fails with .closed")
    func truncatedReply() async throws {
        let server = FakeQMPServer { peer in
            try peer.greetAndNegotiate()
            let command = try peer.readCommand()
            try peer.sendRaw(Array(#"{"return": {"status": "runn"#.utf8) + Array(#", "id": \#(command.id)"#.utf8))
        }
        let client = try await connect(server)
        defer { client.close() }
        await #expect(throws: QMPError.closed) { try await client.execute("query-status") }
    }

    @Test("the socket closing mid-command fails every pending call at once")
    func closeMidCommand() async throws {
        let server = FakeQMPServer { peer in
            try peer.greetAndNegotiate()
            for _ in 0..<5 { _ = try peer.readCommand() }
        }
        let client = try await connect(server)
        defer { client.close() }
        let failures = await withTaskGroup(of: QMPError?.self) { group in
            for _ in 0..<5 {
                group.addTask {
                    do throws(QMPError) {
                        _ = try await client.execute("query-status", timeout: .seconds(60))
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            return await group.reduce(into: [QMPError?]()) { $0.append($1) }
        }
        #expect(failures == Array(repeating: QMPError.closed, count: 5))
        await #expect(throws: QMPError.closed) { try await client.execute("query-status") }
    }

    @Test("a 20 MiB message ends the connection with .messageTooLarge")
    func oversizedMessage() async throws {
        let server = FakeQMPServer { peer in
            try peer.greetAndNegotiate()
            let command = try peer.readCommand()
            let huge = #"{"return": ""# + String(repeating: "a", count: 20 * 1024 * 1024) + #"", "id": \#(command.id)}"#
            try? peer.send(huge)
        }
        let client = try await connect(server)
        defer { client.close() }
        await #expect(throws: QMPError.messageTooLarge(limit: 10 * 1024 * 1024)) {
            try await client.execute("query-status", timeout: .seconds(90))
        }
    }

    @Test("the size limit is configurable")
    func configurableLimit() async throws {
        let server = FakeQMPServer { peer in
            try peer.greetAndNegotiate()
            let command = try peer.readCommand()
            try? peer.reply(id: command.id, "\"" + String(repeating: "b", count: 5000) + "\"")
            peer.waitForHangUp()
        }
        let client = try await connect(server, options: .init(maximumMessageSize: 4096))
        defer { client.close() }
        await #expect(throws: QMPError.messageTooLarge(limit: 4096)) { try await client.execute("query-status") }
    }

    @Test("an event storm while 100 commands run: every reply reaches its caller, every event its subscriber")
    func eventStorm() async throws {
        let server = FakeQMPServer { peer in
            try peer.greetAndNegotiate()
            for _ in 0..<100 {
                let command = try peer.readCommand()
                for index in 0..<100 { try peer.event("STORM", data: #"{"n": \#(index)}"#) }
                try peer.reply(id: command.id, #"{"echo": \#(command.arguments["n"]!)}"#)
            }
            peer.waitForHangUp()
        }
        let client = try await connect(server)
        defer { client.close() }
        let storm = client.events(matching: .named("STORM"))
        let counter = Task {
            var count = 0
            for await _ in storm {
                count += 1
                if count == 10_000 { break }
            }
            return count
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<100 {
                group.addTask {
                    let reply = try await client.execute("echo", arguments: ["n": .int(Int64(caller))], timeout: .seconds(60))
                    #expect(reply["echo"] == .int(Int64(caller)))
                }
            }
            try await group.waitForAll()
        }
        #expect(await counter.value == 10_000)
    }

    @Test("replies out of order are matched by id")
    func outOfOrder() async throws {
        let server = FakeQMPServer { peer in
            try peer.greetAndNegotiate()
            var commands: [(name: String, id: String, arguments: JSONValue)] = []
            for _ in 0..<8 { commands.append(try peer.readCommand()) }
            for command in commands.reversed() {
                try peer.reply(id: command.id, #"{"echo": \#(command.arguments["n"]!)}"#)
            }
            peer.waitForHangUp()
        }
        let client = try await connect(server)
        defer { client.close() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<8 {
                group.addTask {
                    let reply = try await client.execute("echo", arguments: ["n": .int(Int64(caller))])
                    #expect(reply["echo"] == .int(Int64(caller)))
                }
            }
            try await group.waitForAll()
        }
    }

    @Test("a silent server times out instead of hanging")
    func silentServer() async throws {
        let server = FakeQMPServer { peer in
            try peer.greetAndNegotiate()
            peer.waitForHangUp()
        }
        let client = try await connect(server)
        defer { client.close() }
        let started = ContinuousClock.now
        await #expect(throws: QMPError.timeout(command: "query-status", seconds: 0.3)) {
            try await client.execute("query-status", timeout: .milliseconds(300))
        }
        #expect(ContinuousClock.now - started < .seconds(30))
        // The table applies when no per-call timeout is given.
        let quick = try await connect(
            FakeQMPServer { peer in
                try peer.greetAndNegotiate()
                peer.waitForHangUp()
            }, options: .init(timeouts: QMPTimeouts(standard: .milliseconds(200))))
        defer { quick.close() }
        await #expect(throws: QMPError.timeout(command: "query-kvm", seconds: 0.2)) { try await quick.queryKVM() }
    }

    @Test("a server that never greets fails the connect with .greetingFailed")
    func noGreeting() async throws {
        let server = FakeQMPServer { peer in peer.waitForHangUp() }
        do {
            _ = try await QMPClient.connect(path: server.path, timeout: .milliseconds(300))
            Issue.record("connect succeeded without a greeting")
        } catch {
            guard case .greetingFailed = error else {
                Issue.record("unexpected \(error)")
                return
            }
        }
    }

    @Test("a refused qmp_capabilities fails with .negotiationFailed")
    func negotiationRefused() async throws {
        let server = FakeQMPServer { peer in
            try peer.greet()
            let command = try peer.readCommand()
            try peer.send(#"{"error": {"class": "CommandNotFound", "desc": "nope"}, "id": \#(command.id)}"#)
            peer.waitForHangUp()
        }
        do {
            _ = try await QMPClient.connect(path: server.path, timeout: .seconds(20))
            Issue.record("connect succeeded")
        } catch {
            guard case .negotiationFailed(let text) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(text.contains("nope"))
        }
    }

    @Test("replies with unknown ids are dropped, never delivered")
    func unknownID() async throws {
        let server = FakeQMPServer { peer in
            try peer.greetAndNegotiate()
            let command = try peer.readCommand()
            try peer.reply(id: "999999", #""wrong-numeric""#)
            try peer.reply(id: #""not-ours""#, #""wrong-string""#)
            try peer.send(#"{"return": "wrong-no-id"}"#)
            try peer.reply(id: command.id, #""right""#)
            peer.waitForHangUp()
        }
        let client = try await connect(server)
        defer { client.close() }
        #expect(try await client.execute("query-status") == "right")
    }

    @Test("events before the negotiation reply do not disturb it")
    func earlyEvents() async throws {
        let server = FakeQMPServer { peer in
            try peer.greet()
            try peer.event("EARLY")
            let command = try peer.readCommand()
            try peer.event("EARLY")
            try peer.reply(id: command.id)
            let next = try peer.readCommand()
            try peer.reply(id: next.id, #"{"status": "running", "running": true, "singlestep": false}"#)
            peer.waitForHangUp()
        }
        let client = try await connect(server)
        defer { client.close() }
        #expect(try await client.queryStatus() == QMPStatus(status: "running", running: true))
    }

    @Test("execute(thenAwaitEvent:) sees an event sent right after the reply")
    func subscribeThenSend() async throws {
        let server = FakeQMPServer { peer in
            try peer.greetAndNegotiate()
            let command = try peer.readCommand()
            try peer.sendRaw(
                Array(#"{"return": {}, "id": \#(command.id)}"#.utf8) + [0x0A]
                    + Array(#"{"event": "POWERDOWN", "timestamp": {"seconds": 5, "microseconds": 0}}"#.utf8) + [0x0A])
            peer.waitForHangUp()
        }
        let client = try await connect(server)
        defer { client.close() }
        let (_, event) = try await client.execute(
            "system_powerdown", thenAwaitEvent: .named("POWERDOWN"), eventTimeout: .seconds(20))
        #expect(event.name == "POWERDOWN")
        #expect(event.timestamp == 5)
    }

    @Test("device_del waits for DEVICE_DELETED of every id, by device or by path")
    func deviceDeleted() async throws {
        let server = FakeQMPServer { peer in
            try peer.greetAndNegotiate()
            let command = try peer.readCommand()
            try peer.reply(id: command.id)
            try peer.event("DEVICE_DELETED", data: #"{"device": "other", "path": "/machine/peripheral/other"}"#)
            try peer.event("DEVICE_DELETED", data: #"{"path": "/machine/peripheral/gpu0-audio"}"#)
            try peer.event("DEVICE_DELETED", data: #"{"device": "gpu0", "path": "/machine/peripheral/gpu0"}"#)
            peer.waitForHangUp()
        }
        let client = try await connect(server)
        defer { client.close() }
        try await client.deviceDel(id: "gpu0", awaitingDeletionOf: ["gpu0", "gpu0-audio"], timeout: .seconds(20))
    }

    @Test("DEVICE_UNPLUG_GUEST_ERROR and 'guest is busy' are typed")
    func unplugRefusals() async throws {
        let server = FakeQMPServer { peer in
            try peer.greetAndNegotiate()
            let first = try peer.readCommand()
            try peer.reply(id: first.id)
            try peer.event("DEVICE_UNPLUG_GUEST_ERROR", data: #"{"device": "gpu0", "path": "/machine/peripheral/gpu0"}"#)
            let second = try peer.readCommand()
            try peer.send(
                #"{"error": {"class": "GenericError", "desc": "Hot-unplug failed: guest is busy (power indicator blinking)"}, "id": \#(second.id)}"#)
            peer.waitForHangUp()
        }
        let client = try await connect(server)
        defer { client.close() }
        await #expect(throws: QMPError.unplugRejectedByGuest(device: "gpu0")) {
            try await client.deviceDel(id: "gpu0", timeout: .seconds(20))
        }
        await #expect(
            throws: QMPError.guestBusy(
                command: "device_del", description: "Hot-unplug failed: guest is busy (power indicator blinking)")
        ) { try await client.deviceDel(id: "gpu0") }
    }

    @Test("a deletion that never comes times out")
    func deletionTimeout() async throws {
        let server = FakeQMPServer { peer in
            try peer.greetAndNegotiate()
            let command = try peer.readCommand()
            try peer.reply(id: command.id)
            peer.waitForHangUp()
        }
        let client = try await connect(server)
        defer { client.close() }
        await #expect(throws: QMPError.timeout(command: "DEVICE_DELETED gpu0", seconds: 0.3)) {
            try await client.deviceDel(id: "gpu0", timeout: .milliseconds(300))
        }
    }

    @Test("a cancelled caller gets .cancelled and the connection keeps working")
    func cancellation() async throws {
        let server = FakeQMPServer { peer in
            try peer.greetAndNegotiate()
            _ = try peer.readCommand()
            let second = try peer.readCommand()
            try peer.reply(id: second.id, #""second""#)
            peer.waitForHangUp()
        }
        let client = try await connect(server)
        defer { client.close() }
        let waiting = Task { () throws(QMPError) -> JSONValue in try await client.execute("slow", timeout: .seconds(60)) }
        try await Task.sleep(for: .milliseconds(100))
        waiting.cancel()
        await #expect(throws: QMPError.cancelled(command: "slow")) { try await waiting.value }
        #expect(try await client.execute("fast") == "second")
    }

    @Test("tasks preferring the reader-thread executor get their replies and outlive the connection")
    func readerThreadExecutor() async throws {
        let server = FakeQMPServer { peer in
            try peer.greetAndNegotiate()
            for _ in 0..<50 {
                let command = try peer.readCommand()
                try peer.reply(id: command.id, #"{"echo": \#(command.arguments["n"]!)}"#)
            }
        }
        let client = try await connect(server)
        defer { client.close() }
        let outcome = await Task(executorPreference: client.executor) { () async -> Result<Int, QMPError> in
            var answered = 0
            for n in 0..<60 {
                do throws(QMPError) {
                    let reply = try await client.execute("echo", arguments: ["n": .int(Int64(n))])
                    #expect(reply["echo"] == .int(Int64(n)))
                    answered += 1
                } catch {
                    // The server leaves after 50 replies; later calls fail, and this task keeps
                    // running on the global executor once the reader thread is gone.
                    try? await Task.sleep(for: .milliseconds(1))
                    return answered == 50 ? .failure(error) : .success(answered)
                }
            }
            return .success(answered)
        }.value
        #expect(outcome == .failure(.closed))
    }

    @Test("the wire log shows every message with a timestamp and its direction")
    func wireLog() async throws {
        let server = FakeQMPServer { peer in
            try peer.greetAndNegotiate()
            let command = try peer.readCommand()
            try peer.reply(id: command.id, #""ok""#)
            peer.waitForHangUp()
        }
        let lines = Mutex<[String]>([])
        let log = WireLog { line in lines.withLock { $0.append(line) } }
        let client = try await connect(server, options: .init(wireLog: log))
        defer { client.close() }
        _ = try await client.execute("query-status")
        let recorded = lines.withLock { $0 }
        #expect(recorded.count == 5)
        #expect(recorded.map { $0.split(separator: " ")[1] } == ["<<", ">>", "<<", ">>", "<<"])
        #expect(recorded[3].hasSuffix(#" >> {"execute":"query-status","id":2}"#))
        #expect(recorded.allSatisfy { $0.first?.isNumber == true && $0.split(separator: " ")[0].hasSuffix("Z") })
    }

    @Test("event streams finish when the connection closes")
    func streamsFinish() async throws {
        let server = FakeQMPServer { peer in
            try peer.greetAndNegotiate()
            try peer.event("ONE")
        }
        let client = try await connect(server)
        defer { client.close() }
        let stream = client.events()
        var names: [String] = []
        for await event in stream { names.append(event.name) }
        #expect(client.isClosed)
        #expect(names.count <= 1)
    }
}

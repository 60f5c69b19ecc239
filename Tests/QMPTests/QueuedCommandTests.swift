import QMP
import Synchronization
import Testing

/// `connectQueuing`: commands sent before QEMU answers `qmp_capabilities` follow it on the wire.
@Suite("QMP commands queued behind the negotiation", .timeLimit(.minutes(2)))
struct QueuedCommandTests {
    private func connectQueuing(_ server: FakeQMPServer) async throws -> (QMPClient, Task<Result<Void, QMPError>, Never>) {
        let transport = try await UnixSocketTransport.connect(path: server.path, timeout: .seconds(20))
        return try await QMPClient.connectQueuing(transport: transport, timeout: .seconds(20))
    }

    @Test("a command sent before the negotiation is answered reaches the server after it and is answered")
    func commandFollowsTheNegotiation() async throws {
        let seen = Mutex<[String]>([])
        // The server answers nothing until it has read both commands: a client that waited for
        // the negotiation's answer before sending its command would hang here.
        let server = FakeQMPServer { peer in
            try peer.greet()
            let negotiation = try peer.readCommand()
            let command = try peer.readCommand()
            seen.withLock { $0 = [negotiation.name, command.name] }
            try peer.reply(id: negotiation.id)
            try peer.reply(id: command.id, #"{"status": "prelaunch", "running": false}"#)
            peer.waitForHangUp()
        }
        let (client, negotiation) = try await connectQueuing(server)
        defer { client.close() }
        let status = try await client.queryStatus(timeout: .seconds(20))
        #expect(status.status == "prelaunch")
        #expect(try await negotiation.value.get() == ())
        #expect(seen.withLock { $0 } == ["qmp_capabilities", "query-status"])
    }

    @Test("a failed negotiation is reported, and the command queued behind it fails")
    func failedNegotiation() async throws {
        let server = FakeQMPServer { peer in
            try peer.greet()
            let negotiation = try peer.readCommand()
            let command = try peer.readCommand()
            try peer.send(#"{"error": {"class": "GenericError", "desc": "not now"}, "id": \#(negotiation.id)}"#)
            try peer.send(#"{"error": {"class": "CommandNotFound", "desc": "Expecting capabilities negotiation"}, "id": \#(command.id)}"#)
            peer.waitForHangUp()
        }
        let (client, negotiation) = try await connectQueuing(server)
        defer { client.close() }
        await #expect(throws: QMPError.self) { _ = try await client.execute("query-status") }
        guard case .failure(.negotiationFailed(let text)) = await negotiation.value else {
            Issue.record("the negotiation did not fail")
            return
        }
        #expect(text.contains("not now"))
    }
}

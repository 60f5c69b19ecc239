import Logging
import QMP
import Testing

/// Against a real QEMU 7.2 (TCG, `-S`).
@Suite("QMP against real QEMU", .timeLimit(.minutes(3)))
struct RealQEMUTests {
    @Test("greeting, negotiation, version, status and KVM")
    func negotiateAndQuery() async throws {
        try await withQEMU { qemu in
            let client = try await qemu.connect()
            defer { client.close() }
            #expect(client.version.major == 7 && client.version.minor == 2)
            #expect(client.greeting.capabilities.contains("oob"))
            #expect(client.enabledCapabilities == ["oob"])
            #expect(try await client.queryVersion() == client.version)
            let status = try await client.queryStatus()
            #expect(status.status == "prelaunch" || status.status == "paused")
            #expect(status.running == false)
            let kvm = try await client.queryKVM()
            #expect(kvm.enabled == false)
        }
    }

    @Test("device_add into a root port shows up in query-pci")
    func hotPlugIntoRootPort() async throws {
        try await withQEMU { qemu in
            let client = try await qemu.connect()
            defer { client.close() }
            let before = try await client.queryPCI()
            let rootPort = before.first(where: { $0.qdevID == "rp1" })
            let port = try #require(rootPort)
            #expect(port.classCode == 0x0604)
            try await client.deviceAdd(driver: "ich9-intel-hda", id: "audio0", properties: ["bus": "rp1", "addr": "0.0"])
            // Before the firmware ran: query-pci does not show it behind the root port yet, qom-list does.
            #expect(!(try await client.queryPCI().contains { $0.qdevID == "audio0" }))
            #expect(try await client.peripheralIDs().contains("audio0"))
            #expect(try await client.peripheralIDs().contains("rp1"))
            // query-pci lists devices behind a bridge only once firmware has numbered its bus, so
            // let SeaBIOS run.
            try await client.cont()
            var found: QMPPCIDevice?
            let deadline = ContinuousClock.now.advanced(by: .seconds(60))
            while found == nil, ContinuousClock.now < deadline {
                found = try await client.queryPCI().first(where: { $0.qdevID == "audio0" })
                if found == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            let audio = try #require(found)
            #expect(audio.classCode == 0x0403)
            #expect(audio.vendorID == 0x8086)
            #expect(audio.bus != 0)
            #expect(audio.slot == 0 && audio.function == 0)
        }
    }

    @Test("a command error carries class, description and the command")
    func commandError() async throws {
        try await withQEMU { qemu in
            let client = try await qemu.connect()
            defer { client.close() }
            await #expect(throws: QMPError.self) { try await client.execute("no-such-command") }
            do throws(QMPError) {
                try await client.deviceAdd(driver: "no-such-driver", id: "x")
                Issue.record("device_add of an unknown driver succeeded")
            } catch {
                guard case .commandFailed(let command, let errorClass, let description) = error else {
                    Issue.record("unexpected \(error)")
                    return
                }
                #expect(command == "device_add")
                #expect(errorClass == "GenericError")
                #expect(description.contains("no-such-driver"))
            }
        }
    }

    @Test("concurrent commands from many tasks each get their own reply")
    func concurrentCommands() async throws {
        try await withQEMU { qemu in
            let client = try await qemu.connect()
            defer { client.close() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<16 {
                    group.addTask {
                        for _ in 0..<20 {
                            if index.isMultiple(of: 2) {
                                let status = try await client.queryStatus()
                                #expect(status.running == false)
                            } else {
                                let version = try await client.queryVersion()
                                #expect(version.major == 7)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test("quit: the reply arrives, the socket closes, later calls fail with .closed")
    func quitCloses() async throws {
        try await withQEMU { qemu in
            let client = try await qemu.connect()
            defer { client.close() }
            let shutdown = client.events(matching: .named("SHUTDOWN"))
            try await client.quit()
            var sawShutdown = false
            for await event in shutdown where event.name == "SHUTDOWN" { sawShutdown = true }
            #expect(sawShutdown)
            #expect(await qemu.waitForExit(timeout: .seconds(30)))
            #expect(client.isClosed)
            await #expect(throws: QMPError.closed) { try await client.queryStatus() }
        }
    }

    @Test("calls pending when QEMU dies all fail with .closed")
    func pendingCallsFailWhenQEMUDies() async throws {
        try await withQEMU { qemu in
            let client = try await qemu.connect()
            defer { client.close() }
            // `stop` on a prelaunch VM and `quit` queued together: whatever is still waiting
            // when QEMU exits must fail with .closed, never hang.
            try await withThrowingTaskGroup(of: Result<JSONValue, QMPError>.self) { group in
                group.addTask { await outcome { () throws(QMPError) in try await client.execute("quit") } }
                for _ in 0..<8 {
                    group.addTask { await outcome { () throws(QMPError) in try await client.execute("query-status") } }
                }
                for try await outcome in group {
                    if case .failure(let error) = outcome { #expect(error == .closed) }
                }
            }
            await #expect(throws: QMPError.closed) { try await client.execute("query-status") }
        }
    }

    @Test("a missing socket and a stale socket are told apart")
    func connectFailures() async throws {
        let directory = makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        await #expect(throws: QMPError.connectFailed(path: "\(directory)/none.sock", reason: .noSocket)) {
            _ = try await QMPClient.connect(path: "\(directory)/none.sock", timeout: .seconds(2))
        }
        let stale = try makeStaleSocket(in: directory)
        await #expect(throws: QMPError.connectFailed(path: stale, reason: .refused)) {
            _ = try await QMPClient.connect(path: stale, timeout: .seconds(2))
        }
    }
}

/// The result of an async throwing call.
func outcome<T>(_ body: () async throws(QMPError) -> T) async -> Result<T, QMPError> {
    do {
        return .success(try await body())
    } catch {
        return .failure(error)
    }
}

import Foundation
import GuestSupport
import QEMU
import Testing
@testable import GuestAgent

/// The client against the real qemu-ga (Debian qemu-guest-agent) in the test-bed guest.
@Suite("Guest agent against real qemu-ga", .serialized)
struct RealAgentTests {
    @Test("ping, info, exec with output and exit code, and a second client resyncs")
    func realAgent() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("ga", bed.definition(extraCmdline: "vmtest.ga=1", extra: "guest_agent = true"))
        let machine = try scratch.machine(loaded)
        _ = try await machine.up()
        try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")

        // qemu-ga may still be starting after READY: retry the connect (sync) for a while.
        var connected: GuestAgentClient?
        let deadline = ContinuousClock.now + .seconds(60)
        while connected == nil, ContinuousClock.now < deadline {
            connected = try? await GuestAgentClient.connect(path: loaded.paths.agentSocket, timeout: .seconds(3))
        }
        let agent = try #require(connected)
        try await agent.ping()
        let info = try await agent.info()
        #expect(info.enabledCommands.contains("guest-exec"))
        #expect(!info.agentVersion.isEmpty)
        #expect(info.interfaces?.contains { $0.name == "lo" } ?? false)

        let echo = try await agent.exec(path: "/bin/busybox", arguments: ["echo", "hi"])
        #expect(echo.exitCode == 0)
        #expect(String(decoding: echo.standardOutput, as: UTF8.self) == "hi\n")

        let failing = try await agent.exec(path: "/bin/busybox", arguments: ["sh", "-c", "echo err >&2; exit 3"])
        #expect(failing.exitCode == 3)
        #expect(String(decoding: failing.standardError, as: UTF8.self) == "err\n")

        // Leave a reply unread, then a second client must sync past it.
        _ = try? await agent.execute("guest-info", timeout: .milliseconds(1))
        agent.close()
        let second = try await GuestAgentClient.connect(path: loaded.paths.agentSocket, timeout: .seconds(20))
        defer { second.close() }
        try await second.ping()

        await #expect(throws: GuestAgentError.self) {
            _ = try await second.exec(path: "/no/such/program")
        }
        _ = try await machine.down(timeout: .seconds(5), force: true)  // the scratch folder kills QEMU if we never get here
    }
}

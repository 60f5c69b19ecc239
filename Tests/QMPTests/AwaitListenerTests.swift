import Foundation
import Glibc
import QMP
import Subprocess
import Testing

/// `UnixSocketTransport.connect(awaitListener:)`: how `vm up` reaches a QEMU whose monitor does
/// not listen yet.
@Suite struct AwaitListenerTests {
    @Test("a connect that awaits the listener reaches a QEMU started after the call", .timeLimit(.minutes(2)))
    func connectsOnceQEMUListens() async throws {
        let directory = makeTemporaryDirectory(prefix: "qmpw")
        defer { removeTemporaryDirectory(directory) }
        let socket = "\(directory)/qmp.sock"
        let pending = Task { try await UnixSocketTransport.connect(path: socket, timeout: .seconds(60), awaitListener: true) }
        try await Task.sleep(for: .milliseconds(200))

        // -daemonize: the launcher returns once QEMU runs (Foundation's Process.waitUntilExit
        // was seen to spin forever here, so no Process is kept).
        let pidFile = "\(directory)/qemu.pid"
        let launched = try await Subprocess.run(
            .path("/usr/bin/qemu-system-x86_64"),
            arguments: ["-machine", "q35,accel=tcg", "-nodefaults", "-display", "none", "-S", "-daemonize", "-pidfile", pidFile,
                        "-qmp", "unix:\(socket),server=on,wait=off"],
            output: .discarded, error: .string(limit: 1 << 16))
        #expect(launched.terminationStatus.isSuccess, "\(launched.standardError)")
        let pid = try #require(Int32(String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        defer { kill(pid, SIGKILL) }
        let transport = try await pending.value
        let client = try await QMPClient.connect(transport: transport, timeout: .seconds(30))
        defer { client.close() }
        let status = try await client.queryStatus()
        #expect(status.status == "prelaunch")
    }

    @Test("cancelling ends the wait for a listener that never comes", .timeLimit(.minutes(1)))
    func cancellationEndsTheWait() async throws {
        let directory = makeTemporaryDirectory(prefix: "qmpw")
        defer { removeTemporaryDirectory(directory) }
        let socket = "\(directory)/never.sock"
        let pending = Task { try await UnixSocketTransport.connect(path: socket, timeout: .seconds(3600), awaitListener: true) }
        try await Task.sleep(for: .milliseconds(100))
        pending.cancel()
        await #expect(throws: TransportError.connectFailed(path: socket, errno: ENOENT)) { _ = try await pending.value }
    }

    @Test("without awaiting, a missing socket fails at once", .timeLimit(.minutes(1)))
    func missingSocketFailsWithoutAwaiting() async throws {
        let directory = makeTemporaryDirectory(prefix: "qmpw")
        defer { removeTemporaryDirectory(directory) }
        let socket = "\(directory)/none.sock"
        await #expect(throws: TransportError.connectFailed(path: socket, errno: ENOENT)) {
            _ = try await UnixSocketTransport.connect(path: socket, timeout: .seconds(3600))
        }
    }
}

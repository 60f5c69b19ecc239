import Foundation
import QMP
import Subprocess
import SystemPackage
@testable import Libvirt

/// Makes sure the system daemons a `qemu:///system` test needs are up: `virtlogd` first (QEMU's
/// console and log go through it), then `libvirtd` (see TESTBED.md). Starts whichever is missing
/// and waits until a connection opens. Needs root.
actor LibvirtDaemon {
    static let shared = LibvirtDaemon()
    private var ready = false

    func systemConnection() async throws -> LibvirtConnection {
        if !ready {
            try await start()
            ready = true
        }
        return try LibvirtConnection(uri: "qemu:///system")
    }

    private func start() async throws {
        if await !Self.socketAnswers("/run/libvirt/virtlogd-sock") {
            try await Self.run("/usr/sbin/virtlogd", ["-d"])
            try await Self.waitFor("/run/libvirt/virtlogd-sock")
        }
        if (try? LibvirtConnection(uri: "qemu:///system")) == nil {
            try await Self.run("/usr/sbin/libvirtd", ["-d"])
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while (try? LibvirtConnection(uri: "qemu:///system")) == nil {
            guard ContinuousClock.now < deadline else {
                _ = try LibvirtConnection(uri: "qemu:///system")
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Runs a daemon's launcher (`-d` forks and returns). A second launcher racing another
    /// starter fails on the pidfile lock; the wait that follows decides.
    /// (Foundation's `Process.waitUntilExit` was seen to hang here after virtlogd's launcher had
    /// exited, so this waits through swift-subprocess.)
    private static func run(_ path: String, _ arguments: [String]) async throws {
        _ = try await Subprocess.run(.path(FilePath(path)), arguments: Arguments(arguments), output: .discarded, error: .discarded)
    }

    private static func waitFor(_ socket: String) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while await !socketAnswers(socket) {
            guard ContinuousClock.now < deadline else { throw DaemonError.noSocket(socket) }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Whether something accepts connections on this Unix socket.
    static func socketAnswers(_ path: String) async -> Bool {
        (try? await UnixSocketTransport.connect(path: path, timeout: .seconds(1))) != nil
    }

    enum DaemonError: Error {
        case noSocket(String)
    }
}

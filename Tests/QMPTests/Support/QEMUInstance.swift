import Foundation
import Glibc
import HostLinux
import QMP

/// A real `qemu-system-x86_64` (TCG, `-S`, no devices but one PCIe root port `rp1`) with its QMP
/// socket in a private temp dir. Always use through ``withQEMU(_:)``, which kills and reaps it.
final class QEMUInstance: Sendable {
    let directory: String
    let socket: String
    private let process: ChildProcess

    private init(directory: String, socket: String, process: ChildProcess) {
        self.directory = directory
        self.socket = socket
        self.process = process
    }

    static func launch() throws -> QEMUInstance {
        let directory = makeTemporaryDirectory(prefix: "qmpq")
        let socket = "\(directory)/qmp.sock"
        let process: ChildProcess
        do {
            process = try ChildProcess([
                "/usr/bin/qemu-system-x86_64",
                "-machine", "q35,accel=tcg", "-nodefaults", "-display", "none", "-S",
                "-qmp", "unix:\(socket),server=on,wait=off",
                "-device", "pcie-root-port,id=rp1,chassis=1,slot=1",
            ])
        } catch {
            removeTemporaryDirectory(directory)
            throw error
        }
        let instance = QEMUInstance(directory: directory, socket: socket, process: process)
        // QEMU creates the socket while starting; give it a generous time under load.
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while access(socket, F_OK) != 0 {
            guard process.isRunning, ContinuousClock.now < deadline else {
                instance.stop()
                throw QEMUStartFailure(exit: process.exit)
            }
            usleep(10_000)
        }
        return instance
    }

    var isRunning: Bool { process.isRunning }

    /// Connects a client. QEMU creates the socket file (bind) a moment before it listens, so a
    /// refused connection is retried while QEMU runs.
    func connect() async throws -> QMPClient {
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while true {
            let attempt = await outcome { () throws(QMPError) in try await QMPClient.connect(path: socket, timeout: .seconds(30)) }
            switch attempt {
            case .success(let client):
                return client
            case .failure(.connectFailed(_, .refused)) where process.isRunning && ContinuousClock.now < deadline:
                try await Task.sleep(for: .milliseconds(20))
            case .failure(let error):
                throw error
            }
        }
    }

    /// Waits (up to `timeout`) for QEMU to exit on its own; returns whether it did.
    func waitForExit(timeout: Duration) async -> Bool {
        await process.awaitExit(within: timeout) != nil
    }

    /// Kills QEMU if still running, reaps it and removes the temp dir. Idempotent.
    func stop() {
        process.send(SIGKILL)
        _ = process.waitForExit(within: .seconds(5))
        removeTemporaryDirectory(directory)
    }
}

struct QEMUStartFailure: Error {
    let exit: ChildExit?
}

/// Runs `body` with a fresh QEMU and stops it afterwards, whatever happens.
func withQEMU<T>(_ body: (QEMUInstance) async throws -> T) async throws -> T {
    let qemu = try QEMUInstance.launch()
    defer { qemu.stop() }
    return try await body(qemu)
}

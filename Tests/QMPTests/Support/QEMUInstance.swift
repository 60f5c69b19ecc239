import Foundation
import Glibc
import QMP

/// A real `qemu-system-x86_64` (TCG, `-S`, no devices but one PCIe root port `rp1`) with its QMP
/// socket in a private temp dir. Always use through ``withQEMU(_:)``, which kills and reaps it.
final class QEMUInstance: @unchecked Sendable {
    let directory: String
    let socket: String
    private let process: Process

    private init(directory: String, socket: String, process: Process) {
        self.directory = directory
        self.socket = socket
        self.process = process
    }

    static func launch() throws -> QEMUInstance {
        let directory = makeTemporaryDirectory(prefix: "qmpq")
        let socket = "\(directory)/qmp.sock"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/qemu-system-x86_64")
        process.arguments = [
            "-machine", "q35,accel=tcg", "-nodefaults", "-display", "none", "-S",
            "-qmp", "unix:\(socket),server=on,wait=off",
            "-device", "pcie-root-port,id=rp1,chassis=1,slot=1",
        ]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        do {
            try process.run()
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
                throw QEMUStartFailure(status: process.isRunning ? nil : process.terminationStatus)
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
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    /// Kills QEMU if still running, reaps it and removes the temp dir. Idempotent.
    ///
    /// It reaps the child itself, for at most 5 s: Foundation's `waitUntilExit` was seen to spin
    /// forever, holding a core, when its SIGCHLD watcher missed the exit of a killed QEMU (a
    /// zombie nobody reaped, with many children under load).
    func stop() {
        let pid = process.processIdentifier
        var status: Int32 = 0
        // 0: our child, still running (a zombie or an unknown pid answers otherwise).
        if pid > 0, waitpid(pid, &status, WNOHANG) == 0 {
            kill(pid, SIGKILL)
            for _ in 0..<500 {
                let reaped = waitpid(pid, &status, WNOHANG)
                if reaped != 0 { break }
                usleep(10_000)
            }
        }
        removeTemporaryDirectory(directory)
    }
}

struct QEMUStartFailure: Error {
    let status: Int32?
}

/// Runs `body` with a fresh QEMU and stops it afterwards, whatever happens.
func withQEMU<T>(_ body: (QEMUInstance) async throws -> T) async throws -> T {
    let qemu = try QEMUInstance.launch()
    defer { qemu.stop() }
    return try await body(qemu)
}

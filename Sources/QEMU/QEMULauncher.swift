import CSpawn
import Foundation
import VMCore

/// Why QEMU did not start.
public enum LaunchError: Error, Equatable, CustomStringConvertible {
    case binaryNotFound(String)
    /// QEMU could not be started (the binary is not executable, the log cannot be opened, ...).
    case spawnFailed(executable: String, errno: Int32)
    /// QEMU ended before its monitor answered; `log` is what it wrote to the VM's QEMU log.
    case ended(log: String)

    public var description: String {
        switch self {
        case .binaryNotFound(let name):
            return "\(name) not found in PATH; install QEMU (Debian: apt-get install qemu-system-x86) or set VM_QEMU"
        case .spawnFailed(let executable, let code):
            return "cannot start \(executable): \(String(cString: strerror(code)))"
        case .ended(let log):
            let text = log.trimmingCharacters(in: .whitespacesAndNewlines)
            return "QEMU ended before its monitor answered" + (text.isEmpty ? " and wrote nothing to its log" : ":\n\(text)")
        }
    }
}

/// Starts QEMU in the background as a daemon is started (see `vm_spawn_daemon` in CSpawn): with
/// an argument array (never through a shell), in a session of its own that it does not lead, in
/// `/`, with standard input from `/dev/null`, standard output and error appended to the VM's QEMU
/// log, none of this process's other descriptors, and default signal handling.
///
/// QEMU's own `-daemonize` is not used: it keeps its first process waiting until the machine is
/// initialised, and tears it down only then, which costs `vm up` several milliseconds. Here the
/// monitor answering says QEMU is ready, and QEMU ending first says it failed (``BackgroundQEMU``).
public struct QEMULauncher: Sendable {
    /// The QEMU binary: `VM_QEMU`, else `qemu-system-x86_64` from PATH.
    public let executable: String

    public init(executable: String) {
        self.executable = executable
    }

    /// Finds the QEMU binary for this environment.
    public static func locate(environment: [String: String] = ProcessEnvironment.current) throws(LaunchError) -> QEMULauncher {
        if let explicit = environment["VM_QEMU"], !explicit.isEmpty { return QEMULauncher(executable: explicit) }
        guard let found = findInPath(QEMUCommandLine.executable, path: environment["PATH"] ?? "/usr/bin:/bin") else {
            throw .binaryNotFound(QEMUCommandLine.executable)
        }
        return QEMULauncher(executable: found)
    }

    /// The first executable `name` in a `PATH`-style list.
    public static func findInPath(_ name: String, path: String) -> String? {
        path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Starts QEMU with `arguments`; its output is appended to `logFile` (created 0600).
    public func start(arguments: [String], logFile: String) throws(LaunchError) -> BackgroundQEMU {
        let argv = ([executable] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = (argv + [nil]).withUnsafeBufferPointer { pointers in
            vm_spawn_daemon(executable, pointers.baseAddress, environ, logFile, &pid)
        }
        guard result == 0 else { throw .spawnFailed(executable: executable, errno: result) }
        return BackgroundQEMU(pid: pid)
    }
}

/// A QEMU that ``QEMULauncher`` started. It is not this process's child (init collects its exit
/// status), so how it ended is in its log, not in a status.
public struct BackgroundQEMU: Sendable {
    public let pid: Int32
    /// Whether QEMU has ended (a zombie waiting for init counts as ended).
    public var hasEnded: Bool { !SystemProcessTable().isAlive(pid) }

    /// Waits until QEMU ends, looking every 5 ms; false when `limit` passes or the task is
    /// cancelled first.
    public func awaitEnd(within limit: Duration? = nil) async -> Bool {
        let deadline = limit.map { ContinuousClock.now.advanced(by: $0) }
        while !Task.isCancelled {
            if hasEnded { return true }
            if let deadline, ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return false
    }
}

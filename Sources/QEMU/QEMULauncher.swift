import CSpawn
import FoundationEssentials
import Glibc
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
            let text = log.trimmingWhitespace()
            return "QEMU ended before its monitor answered" + (text.isEmpty ? " and wrote nothing to its log" : ":\n\(text)")
        }
    }
}

/// Starts QEMU and its supervisor in the background as daemons are started (see
/// `vm_spawn_supervised` in CSpawn): with argument arrays (never through a shell), in a session
/// of their own that neither leads, in `/`, with standard input from `/dev/null`, standard output
/// and error appended to the VM's QEMU log (the supervisor's to its own log), none of this
/// process's other descriptors, and default signal handling. The supervisor is QEMU's parent.
///
/// QEMU's own `-daemonize` is not used: it keeps its first process waiting until the machine is
/// initialised, and tears it down only then, which costs `vm up` several milliseconds. Here the
/// supervisor answering on the VM's QMP socket says QEMU is ready, and QEMU ending first says it
/// failed (``BackgroundQEMU``).
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

    /// Starts QEMU with `arguments` and its supervisor; QEMU's output is appended to `logFile`
    /// (created 0600). `tapDescriptor` goes to the supervisor, which hands it to QEMU; the
    /// supervisor also watches the VM's TPM emulator `swtpmPID` (``TPMEmulator``).
    public func start(arguments: [String], logFile: String, supervisor: SupervisorInvocation,
                      tapDescriptor: Int32? = nil, resume: Bool = false, swtpmPID: Int32? = nil) throws(LaunchError) -> BackgroundQEMU {
        let qemuArgv = ([executable] + arguments).map { strdup($0) }
        defer { qemuArgv.forEach { free($0) } }
        let supervisorArgv = supervisor.arguments(qemuPID: "0", tapDescriptor: tapDescriptor, resume: resume, swtpmPID: swtpmPID)
            .map { strdup($0) }
        defer { supervisorArgv.forEach { free($0) } }
        var qemuPID: pid_t = 0
        var supervisorPID: pid_t = 0
        let result = (qemuArgv + [nil]).withUnsafeBufferPointer { qemuPointers in
            (supervisorArgv + [nil]).withUnsafeBufferPointer { supervisorPointers in
                vm_spawn_supervised(executable, qemuPointers.baseAddress, logFile,
                                    supervisor.executable, supervisorPointers.baseAddress, Int32(SupervisorInvocation.pidSlot),
                                    supervisor.paths.supervisorLog, tapDescriptor ?? -1, environ, &qemuPID, &supervisorPID)
            }
        }
        guard result == 0 else { throw .spawnFailed(executable: executable, errno: result) }
        return BackgroundQEMU(pid: qemuPID, supervisorPID: supervisorPID)
    }

    /// Starts a supervisor that adopts the running QEMU `qemuPID` (its own supervisor is gone);
    /// returns the new supervisor's pid.
    public static func adopt(qemuPID: Int32, supervisor: SupervisorInvocation) throws(LaunchError) -> Int32 {
        let argv = supervisor.arguments(qemuPID: String(qemuPID), adopt: true).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = (argv + [nil]).withUnsafeBufferPointer { pointers in
            vm_spawn_daemon(supervisor.executable, pointers.baseAddress, environ, supervisor.paths.supervisorLog, -1, &pid)
        }
        guard result == 0 else { throw .spawnFailed(executable: supervisor.executable, errno: result) }
        return pid
    }
}

/// A QEMU that ``QEMULauncher`` started, and its supervisor. Neither is this process's child.
public struct BackgroundQEMU: Sendable {
    public let pid: Int32
    public let supervisorPID: Int32

    /// Whether QEMU has ended (a zombie waiting for its parent counts as ended).
    public var hasEnded: Bool { !SystemProcessTable().isAlive(pid) }

    /// Waits until QEMU ends (or, with `orSupervisor`, its supervisor), blocked in the kernel
    /// (``ProcessEndWait``); false when `limit` passes or the task is cancelled first.
    public func awaitEnd(within limit: Duration? = nil, orSupervisor: Bool = false) async -> Bool {
        await ProcessEndWait.oneEnds(orSupervisor ? [pid, supervisorPID] : [pid], within: limit)
    }
}

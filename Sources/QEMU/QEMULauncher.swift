import CSpawn
import Foundation
import VMCore

/// Why QEMU did not start.
public enum LaunchError: Error, Equatable, CustomStringConvertible {
    case binaryNotFound(String)
    /// `posix_spawn` refused (the binary is not executable, the log cannot be opened, ...).
    case spawnFailed(executable: String, errno: Int32)
    /// QEMU ended before its monitor answered; `log` is what it wrote to the VM's QEMU log.
    case ended(QEMUEnding, log: String)

    public var description: String {
        switch self {
        case .binaryNotFound(let name):
            return "\(name) not found in PATH; install QEMU (Debian: apt-get install qemu-system-x86) or set VM_QEMU"
        case .spawnFailed(let executable, let code):
            return "cannot start \(executable): \(String(cString: strerror(code)))"
        case .ended(let ending, let log):
            let text = log.trimmingCharacters(in: .whitespacesAndNewlines)
            return "QEMU \(ending) before its monitor answered" + (text.isEmpty ? "" : ":\n\(text)")
        }
    }
}

/// How a QEMU process ended.
public enum QEMUEnding: Equatable, Sendable, CustomStringConvertible {
    case exited(status: Int32)
    case killed(signal: Int32)

    /// Decodes a `waitpid` status.
    init(waitStatus status: Int32) {
        let signal = status & 0x7f
        self = signal == 0 ? .exited(status: (status >> 8) & 0xff) : .killed(signal: signal)
    }

    public var description: String {
        switch self {
        case .exited(let status): return "exited with status \(status)"
        case .killed(let signal): return "was killed by signal \(signal)"
        }
    }
}

/// Starts QEMU in the background as a daemon is started: with an argument array (never through a
/// shell), in a session of its own (no controlling terminal), in `/`, with standard input from
/// `/dev/null`, standard output and error appended to the VM's QEMU log, none of this process's
/// other descriptors, and default signal handling.
///
/// QEMU's own `-daemonize` is not used: it forks twice more and holds its first process until
/// the machine is initialised, which costs `vm up` several milliseconds. Here the monitor
/// answering says QEMU is ready, and QEMU ending first says it failed (``BackgroundQEMU``).
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
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logFile, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        vm_spawn_file_actions_addclosefrom(&actions, 3)
        vm_spawn_file_actions_addchdir(&actions, "/")
        // Signals this process ignores or blocks would stay ignored or blocked in QEMU.
        var all = sigset_t()
        var none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK) | vm_spawn_flag_setsid())

        let argv = ([executable] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = (argv + [nil]).withUnsafeBufferPointer { pointers in
            posix_spawn(&pid, executable, &actions, &attributes, pointers.baseAddress!, environ)
        }
        guard result == 0 else { throw .spawnFailed(executable: executable, errno: result) }
        return BackgroundQEMU(pid: pid)
    }
}

/// A QEMU that ``QEMULauncher`` started. It is this process's child until one of them ends:
/// when this process ends first, init adopts QEMU, as it would a `-daemonize`d one.
public struct BackgroundQEMU: Sendable {
    public let pid: Int32

    /// How QEMU ended, once it has (its exit status is then collected); nil while it runs.
    public func ending() -> QEMUEnding? {
        var status: Int32 = 0
        switch waitpid(pid, &status, WNOHANG) {
        case pid: return QEMUEnding(waitStatus: status)
        case -1 where errno == EINTR: return ending()
        default: return nil
        }
    }

    /// Waits until QEMU ends, looking every 5 ms; nil when `limit` passes or the task is cancelled first.
    public func awaitEnding(within limit: Duration? = nil) async -> QEMUEnding? {
        let deadline = limit.map { ContinuousClock.now.advanced(by: $0) }
        while !Task.isCancelled {
            if let ending = ending() { return ending }
            if let deadline, ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }

    /// Stops watching QEMU: from now on a background thread collects its exit status when it
    /// ends, so that a long-lived caller (a scripted session, the tests) keeps no zombie.
    public func collectExitInBackground() {
        let pid = pid
        Thread.detachNewThread {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        }
    }
}

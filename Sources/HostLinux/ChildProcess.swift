import CSpawn
import FoundationEssentials
import Glibc
import Synchronization
import VMCore

/// How a child process ended.
public enum ChildExit: Sendable, Hashable, CustomStringConvertible {
    /// It exited with this status.
    case exited(Int32)
    /// This signal ended it.
    case signaled(Int32)

    /// Decodes a `waitpid` status (`WIFSIGNALED`/`WTERMSIG`/`WEXITSTATUS`, which Swift does not import).
    init(waitStatus: Int32) {
        let signal = waitStatus & 0x7f
        self = signal == 0 ? .exited((waitStatus >> 8) & 0xff) : .signaled(signal)
    }

    /// The status a shell would report: the exit status, or 128 + the signal.
    public var shellStatus: Int32 {
        switch self {
        case let .exited(status): status
        case let .signaled(signal): 128 + signal
        }
    }

    public var description: String {
        switch self {
        case let .exited(status): "exited(\(status))"
        case let .signaled(signal): "signaled(\(signal))"
        }
    }
}

/// A program could not be started.
public struct ChildProcessError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The command line that was to run.
    public var arguments: [String]
    /// The `errno` value of the failed step (a missing program is `ENOENT`).
    public var errno: Int32

    public var description: String {
        "\(arguments.joined(separator: " ")): \(String(cString: strerror(errno)))"
    }
}

/// A program started as this process's child with an argument array (never through a shell),
/// whose exit it collects itself with `waitpid` on the child's own pid.
///
/// Foundation's `Process` is not used: on Linux its one watcher thread blocks in `waitpid` as
/// soon as a child closes the descriptors it inherited (sshd, a daemon) and reports no other
/// child's exit until that one ends, so every other wait hangs.
public final class ChildProcess: Sendable {
    /// Where one of the child's standard streams goes.
    public enum Stream: Sendable {
        /// `/dev/null`.
        case null
        /// The same descriptor as this process's.
        case inherit
        /// This open descriptor (which stays the caller's to close).
        case descriptor(Int32)
    }

    /// The child's process id (never reused while the child is not collected).
    public let pid: Int32
    private let collected = Mutex<ChildExit?>(nil)

    /// Starts `arguments[0]` (a path) with the rest as its arguments, the environment (this
    /// process's when nil), in `directory` (this process's when nil), with the given standard
    /// streams, default signal handling, and none of this process's other descriptors; in a
    /// process group of its own unless `newProcessGroup` is false (a program that reads the
    /// terminal must stay in the terminal's group).
    public init(
        _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
        standardInput: Stream = .null, standardOutput: Stream = .null, standardError: Stream = .null,
        newProcessGroup: Bool = true
    ) throws(ChildProcessError) {
        guard let executable = arguments.first else { throw ChildProcessError(arguments: arguments, errno: EINVAL) }
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard devNull >= 0 else { throw ChildProcessError(arguments: arguments, errno: Glibc.errno) }
        defer { close(devNull) }
        func descriptor(_ stream: Stream, standard: Int32) -> Int32 {
            switch stream {
            case .null: devNull
            case .inherit: standard
            case let .descriptor(fd): fd
            }
        }
        let argv = arguments.map { strdup($0) }
        defer { argv.forEach { free($0) } }
        let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } }
        defer { envp?.forEach { free($0) } }
        var pid: pid_t = 0
        let result = (argv + [nil]).withUnsafeBufferPointer { argvPointers in
            func spawn(_ envPointers: UnsafePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
                vm_spawn_child(executable, argvPointers.baseAddress, envPointers, directory,
                               descriptor(standardInput, standard: 0), descriptor(standardOutput, standard: 1),
                               descriptor(standardError, standard: 2), newProcessGroup ? 1 : 0, &pid)
            }
            guard let envp else { return spawn(environ) }
            return (envp + [nil]).withUnsafeBufferPointer { spawn($0.baseAddress) }
        }
        guard result == 0 else { throw ChildProcessError(arguments: arguments, errno: result) }
        self.pid = pid
    }

    /// How the child ended, collecting its exit if it just did; nil while it runs. Never waits.
    public var exit: ChildExit? {
        collected.withLock { exit in
            if exit == nil {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid { exit = ChildExit(waitStatus: status) }
            }
            return exit
        }
    }

    /// Whether the child still runs.
    public var isRunning: Bool { exit == nil }

    /// Blocks this thread until the child ends or `limit` passes (nil: no limit); nil on time-out.
    /// In async code use ``awaitExit(within:)``, which holds no thread while it waits.
    public func waitForExit(within limit: Duration? = nil) -> ChildExit? {
        let deadline = limit.map { ContinuousClock.now.advanced(by: $0) }
        let watch = vm_pidfd_open(pid)
        defer { if watch >= 0 { close(watch) } }
        while true {
            if let exit { return exit }
            let left = deadline.map { ContinuousClock.now.duration(to: $0) }
            if let left, left <= .zero { return nil }
            let slice = min(left ?? .seconds(1), .seconds(1))
            let milliseconds = Int32(slice.milliseconds.rounded(.up))
            if watch >= 0 {
                var entry = pollfd(fd: watch, events: Int16(POLLIN), revents: 0)
                _ = poll(&entry, 1, max(milliseconds, 1))
            } else {
                usleep(10_000)
            }
        }
    }

    /// Waits until the child ends or `limit` passes (nil: no limit), looking every 10 ms without
    /// holding a thread; nil on time-out or when the task is cancelled.
    public func awaitExit(within limit: Duration? = nil) async -> ChildExit? {
        let deadline = limit.map { ContinuousClock.now.advanced(by: $0) }
        while !Task.isCancelled {
            if let exit { return exit }
            if let deadline, ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return exit
    }

    /// Sends `signal` unless the child was already collected (its pid may then be another's).
    public func send(_ signal: Int32) {
        collected.withLock { exit in
            if exit == nil { _ = kill(pid, signal) }
        }
    }

    /// Ends the child: `SIGTERM`, then `SIGKILL` when it is still there after `grace`; returns how
    /// it ended.
    @discardableResult
    public func stop(grace: Duration = .seconds(2)) -> ChildExit {
        send(SIGTERM)
        if let exit = waitForExit(within: grace) { return exit }
        send(SIGKILL)
        return waitForExit() ?? .signaled(SIGKILL)
    }
}

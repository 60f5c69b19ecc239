import CSpawn
import FoundationEssentials
import Glibc
import VMCore

/// The result of running a host program.
public struct CommandResult: Sendable, Hashable {
    public var status: Int32
    public var standardOutput: String
    public var standardError: String

    public init(status: Int32, standardOutput: String, standardError: String) {
        self.status = status
        self.standardOutput = standardOutput
        self.standardError = standardError
    }
}

/// Errors from running host programs.
public enum CommandRunnerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No executable with this name on `PATH`.
    case notFound(String)
    /// The program ran longer than allowed and was killed.
    case timedOut([String])
    /// The program could not be started.
    case launchFailed([String], String)

    public var description: String {
        switch self {
        case let .notFound(name): return "\(name): not found on PATH"
        case let .timedOut(argv): return "\(argv.joined(separator: " ")): timed out"
        case let .launchFailed(argv, reason): return "\(argv.joined(separator: " ")): \(reason)"
        }
    }
}

/// Seam for running host programs (`qemu-system-x86_64 --version`, `update-grub`, ...) with an argument array.
public protocol HostCommandRunner: Sendable {
    /// Runs `arguments[0]` (looked up on `PATH` when it has no slash) with the rest as its arguments.
    func run(_ arguments: [String], timeout: Duration) throws -> CommandResult
}

/// Runs nothing and reports success: for a host root other than `/` (a test's fake host), where
/// `systemctl` or `modprobe` must not act on the machine itself. `note` hears each skipped command.
public struct SkippingCommandRunner: HostCommandRunner {
    public let note: @Sendable (String) -> Void

    public init(note: @escaping @Sendable (String) -> Void) {
        self.note = note
    }

    public func run(_ arguments: [String], timeout: Duration) throws -> CommandResult {
        note("not run (the host root is not /): \(arguments.joined(separator: " "))")
        return CommandResult(status: 0, standardOutput: "", standardError: "")
    }
}

/// Runs programs as ``ChildProcess``es (never through a shell), reading their output as they run.
public struct ProcessCommandRunner: HostCommandRunner {
    /// The directories searched for programs named without a slash.
    public var searchPath: [String]

    public init(searchPath: [String] = ProcessCommandRunner.defaultSearchPath()) {
        self.searchPath = searchPath
    }

    /// `PATH` plus the sbin directories where `update-grub` and `libvirtd` live.
    public static func defaultSearchPath(_ environment: [String: String] = ProcessEnvironment.current) -> [String] {
        var path = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for extra in ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"] where !path.contains(extra) {
            path.append(extra)
        }
        return path
    }

    /// The full path of `name`, or nil.
    public func locate(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        return searchPath.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    public func run(_ arguments: [String], timeout: Duration) throws -> CommandResult {
        guard let name = arguments.first else { throw CommandRunnerError.launchFailed(arguments, "empty command") }
        guard let executable = locate(name) else { throw CommandRunnerError.notFound(name) }
        let output = try OutputPipes(arguments)
        let child: ChildProcess
        do {
            child = try ChildProcess([executable] + arguments.dropFirst(),
                                     standardOutput: .descriptor(output.writeEnds.0), standardError: .descriptor(output.writeEnds.1))
        } catch {
            output.closeAll()
            throw CommandRunnerError.launchFailed(arguments, error.description)
        }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        let (out, err) = output.collect(from: child, until: deadline)
        // The pipes close a moment before the child's exit can be collected.
        guard let exit = child.waitForExit(within: max(.zero, ContinuousClock.now.duration(to: deadline))) else {
            child.stop()
            throw CommandRunnerError.timedOut(arguments)
        }
        return CommandResult(status: exit.shellStatus, standardOutput: out, standardError: err)
    }
}

/// A program's standard output and error pipes, read while it runs so that a chatty program
/// cannot fill one and stall.
private struct OutputPipes {
    let readEnds: (Int32, Int32)
    let writeEnds: (Int32, Int32)

    init(_ arguments: [String]) throws(CommandRunnerError) {
        var output: [Int32] = [-1, -1], error: [Int32] = [-1, -1]
        let failure = vm_pipe_cloexec(&output)
        guard failure == 0 else { throw .launchFailed(arguments, String(cString: strerror(failure))) }
        let second = vm_pipe_cloexec(&error)
        guard second == 0 else {
            output.forEach { close($0) }
            throw .launchFailed(arguments, String(cString: strerror(second)))
        }
        readEnds = (output[0], error[0])
        writeEnds = (output[1], error[1])
    }

    func closeAll() {
        [readEnds.0, readEnds.1, writeEnds.0, writeEnds.1].forEach { close($0) }
    }

    /// Reads both pipes until the child has ended and they are drained, or `deadline` passes.
    /// Output a descendant still writes after the child ended is not waited for.
    func collect(from child: ChildProcess, until deadline: ContinuousClock.Instant) -> (String, String) {
        close(writeEnds.0)
        close(writeEnds.1)
        defer { close(readEnds.0); close(readEnds.1) }
        var texts = [Data(), Data()]
        var open = [true, true]
        let fds = [readEnds.0, readEnds.1]
        var buffer = [UInt8](repeating: 0, count: 65536)
        while open.contains(true) {
            let ended = child.exit != nil
            // A descendant that keeps writing after the child ended does not hold this past the deadline either.
            if ContinuousClock.now >= deadline { break }
            var entries = fds.indices.map { pollfd(fd: open[$0] ? fds[$0] : -1, events: Int16(POLLIN), revents: 0) }
            // Once the child has ended, only what is already in the pipes is read.
            let ready = poll(&entries, 2, ended ? 0 : 20)
            if ready == 0 && ended { break }
            for index in fds.indices where open[index] && entries[index].revents != 0 {
                let count = read(fds[index], &buffer, buffer.count)
                if count > 0 { texts[index].append(contentsOf: buffer[..<count]) } else if count == 0 || errno != EINTR { open[index] = false }
            }
        }
        return (String(decoding: texts[0], as: UTF8.self), String(decoding: texts[1], as: UTF8.self))
    }
}

import Foundation
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

/// Runs programs with Foundation `Process` (never through a shell).
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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = Array(arguments.dropFirst())
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = FileHandle.nullDevice
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        do { try process.run() } catch { throw CommandRunnerError.launchFailed(arguments, "\(error)") }
        // Drain both pipes while the program runs so a chatty program cannot fill a pipe and stall.
        let collected = PipeCollector(output: output, error: error)
        if finished.wait(timeout: .now() + timeout.seconds) == .timedOut {
            process.terminate()
            _ = finished.wait(timeout: .now() + 2)
            throw CommandRunnerError.timedOut(arguments)
        }
        let (out, err) = collected.finish()
        return CommandResult(status: process.terminationStatus, standardOutput: out, standardError: err)
    }
}

/// Reads a process's stdout and stderr on background threads until both close.
private final class PipeCollector: @unchecked Sendable {
    private let group = DispatchGroup()
    private var output = Data()
    private var error = Data()

    init(output: Pipe, error: Pipe) {
        group.enter()
        DispatchQueue.global().async {
            self.output = output.fileHandleForReading.readDataToEndOfFile()
            self.group.leave()
        }
        group.enter()
        DispatchQueue.global().async {
            self.error = error.fileHandleForReading.readDataToEndOfFile()
            self.group.leave()
        }
    }

    /// Waits for both pipes to close and returns their text.
    func finish() -> (String, String) {
        group.wait()
        return (String(decoding: output, as: UTF8.self), String(decoding: error, as: UTF8.self))
    }
}

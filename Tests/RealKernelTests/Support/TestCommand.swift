import Foundation
import HostLinux

/// How a child process ended.
struct ChildOutcome: Sendable {
    var status: Int32
    var standardOutput: String
    var standardError: String
    /// Wall time from launch to exit.
    var duration: Duration
}

/// Errors from running a child process.
enum TestCommandError: Error, CustomStringConvertible {
    case timedOut(command: String, after: Duration, standardError: String)
    case failed(command: String, status: Int32, standardError: String)
    case notFound(String)

    var description: String {
        switch self {
        case let .timedOut(command, after, stderr): return "\(command) did not finish within \(after) (killed); stderr:\n\(stderr.suffix(4000))"
        case let .failed(command, status, stderr): return "\(command) exited with \(status); stderr:\n\(stderr.suffix(4000))"
        case let .notFound(name): return "\(name) not found on PATH"
        }
    }
}

/// Runs programs with argument arrays (never a shell), output to files in a private folder (no pipe can fill up),
/// and kills the child on timeout or when the calling task is cancelled.
enum TestCommand {
    /// Runs `executable` with `arguments` and waits for it. Output goes to `outputDirectory/NAME.{out,err}`.
    static func run(_ executable: String, _ arguments: [String], name: String, outputDirectory: String,
                    currentDirectory: String? = nil, timeout: Duration) async throws -> ChildOutcome {
        let outPath = "\(outputDirectory)/\(name).out"
        let errPath = "\(outputDirectory)/\(name).err"
        for path in [outPath, errPath] {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
        }
        let out = open(outPath, O_WRONLY | O_CLOEXEC), err = open(errPath, O_WRONLY | O_CLOEXEC)
        defer { close(out); close(err) }
        let clock = ContinuousClock()
        let started = clock.now
        let process = try HostLinux.ChildProcess([executable] + arguments, directory: currentDirectory,
                                                 standardOutput: .descriptor(out), standardError: .descriptor(err))
        // Whatever happens below (timeout, cancellation, a thrown error), the child does not outlive this call.
        defer {
            process.send(SIGKILL)
            _ = process.waitForExit(within: .seconds(10))
        }
        guard let exit = await process.awaitExit(within: timeout) else {
            if Task.isCancelled { throw CancellationError() }
            throw TestCommandError.timedOut(command: ([executable] + arguments).joined(separator: " "), after: timeout,
                                            standardError: Self.read(errPath))
        }
        return ChildOutcome(status: exit.shellStatus, standardOutput: Self.read(outPath),
                            standardError: Self.read(errPath), duration: clock.now - started)
    }

    /// Like ``run(_:_:name:outputDirectory:currentDirectory:timeout:)`` but throws unless the exit status is 0.
    static func runChecked(_ executable: String, _ arguments: [String], name: String, outputDirectory: String,
                           currentDirectory: String? = nil, timeout: Duration) async throws -> ChildOutcome {
        let outcome = try await run(executable, arguments, name: name, outputDirectory: outputDirectory,
                                    currentDirectory: currentDirectory, timeout: timeout)
        guard outcome.status == 0 else {
            throw TestCommandError.failed(command: ([executable] + arguments).joined(separator: " "), status: outcome.status,
                                           standardError: outcome.standardError)
        }
        return outcome
    }

    /// The first `name` on `PATH` that is executable.
    static func locate(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
            return "\(directory)/\(name)"
        }
        throw TestCommandError.notFound(name)
    }

    private static func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }
}

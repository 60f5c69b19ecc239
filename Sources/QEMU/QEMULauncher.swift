import Foundation
import Subprocess
import SystemPackage

/// Why QEMU did not start.
public enum LaunchError: Error, Equatable, CustomStringConvertible {
    case binaryNotFound(String)
    case exited(status: Int32, stderr: String)

    public var description: String {
        switch self {
        case .binaryNotFound(let name):
            return "\(name) not found in PATH; install QEMU (Debian: apt-get install qemu-system-x86) or set VM_QEMU"
        case .exited(let status, let stderr):
            let text = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            return "QEMU exited with status \(status)" + (text.isEmpty ? "" : ":\n\(text)")
        }
    }
}

/// Starts QEMU with an argument array (never through a shell) and waits for `-daemonize` to hand
/// over: QEMU's first process exits once the machine is initialised, with status 0 on success.
public struct QEMULauncher: Sendable {
    /// The QEMU binary: `VM_QEMU`, else `qemu-system-x86_64` from PATH.
    public let executable: String

    public init(executable: String) {
        self.executable = executable
    }

    /// Finds the QEMU binary for this environment.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws(LaunchError) -> QEMULauncher {
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

    /// Runs QEMU until its launcher process exits; QEMU's messages are appended to `logFile`.
    public func launchDaemonized(arguments: [String], logFile: String) async throws {
        let result = try await Subprocess.run(
            .path(FilePath(executable)), arguments: Arguments(arguments),
            input: .none, output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        // QEMU truncates its -D log when it opens it and, once the log is open, writes its errors
        // there; what it printed before that goes to the end of the same file.
        let captured = result.standardOutput + result.standardError
        if !captured.isEmpty { Self.append(captured, to: logFile) }
        switch result.terminationStatus {
        case .exited(0): return
        case .exited(let code), .signaled(let code):
            throw LaunchError.exited(status: code, stderr: (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? captured)
        }
    }

    static func append(_ text: String, to file: String) {
        if !FileManager.default.fileExists(atPath: file) {
            _ = FileManager.default.createFile(atPath: file, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        guard let handle = FileHandle(forWritingAtPath: file) else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: Data(text.utf8))
    }
}

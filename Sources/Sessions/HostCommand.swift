import FoundationEssentials
import Glibc
import Subprocess

/// Runs a session's host command: an argument array (the program is looked up in PATH), never a
/// shell; standard output and error are collected (up to 16 MiB).
enum HostCommand {
    static func run(_ command: [String]) async throws -> (exitCode: Int32, output: Data) {
        let result = try await Subprocess.run(
            .name(command[0]), arguments: Arguments(Array(command.dropFirst())),
            input: .none, output: .bytes(limit: 16 << 20), error: .bytes(limit: 16 << 20))
        let output = Data(result.standardOutput) + Data(result.standardError)
        switch result.terminationStatus {
        case .exited(let code): return (code, output)
        case .signaled(let signal): return (128 + signal, output)
        }
    }
}

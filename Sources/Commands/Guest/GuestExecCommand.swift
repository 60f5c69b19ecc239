import ArgumentParser
import FoundationEssentials
import Glibc
import VMCore

/// `vm guest exec NAME -- PROGRAM ARGS...`
struct GuestExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec", abstract: "Run a program in the guest and print its output.",
        discussion: """
        Exits with the guest program's exit code (128+N when a signal N ended it).

        EXAMPLES:
          vm guest exec win11 -- cmd.exe /c ver
          vm guest exec linux-vm --json -- /bin/uname -a
        """)

    @Argument(help: VMNames.help, completion: VMNames.completion)
    var name: String

    @Option(help: "Seconds to wait for the program to finish.")
    var timeout: Int = 60

    @Argument(parsing: .postTerminator, help: "The program (full path on Linux guests) and its arguments, after --.")
    var command: [String]

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("give the program after --, e.g. vm guest exec NAME -- /bin/echo hi") }
    }

    func run() async throws {
        let (agent, _) = try await GuestCommand.connect(name, timeout: 10)
        defer { agent.close() }
        let result = try await agent.exec(path: command[0], arguments: Array(command.dropFirst()), timeout: .seconds(timeout))
        let output = String(decoding: result.standardOutput, as: UTF8.self)
        let errors = String(decoding: result.standardError, as: UTF8.self)
        if global.json {
            try CommandSupport.printJSON(GuestExecJSON(pid: result.pid, exitCode: result.exitCode, signal: result.signal,
                                                      stdout: output, stderr: errors, truncated: result.truncated))
        } else {
            StandardStream.output.write(output)
            StandardStream.error.write(errors)
            if result.truncated { StandardStream.error.write("vm: the agent truncated the output\n") }
        }
        let code = result.exitCode.map(Int32.init) ?? result.signal.map { 128 + Int32($0) } ?? 1
        if code != 0 { throw ExitCode(code) }
    }
}

struct GuestExecJSON: Encodable {
    var pid: Int64
    var exitCode: Int?
    var signal: Int?
    var stdout: String
    var stderr: String
    var truncated: Bool
}

import ArgumentParser
import Extras
import FoundationEssentials
import Glibc
import GuestAgent
import VMCore

/// `vm extras install NAME`
struct ExtrasInstallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install", abstract: "Run the staged install.cmd in the Windows guest through the guest agent.",
        discussion: """
        The guest agent must answer (guest_agent = true and qemu-ga running in Windows); the extras disc must be in a drive.

        EXAMPLES:
          vm extras install win11
        """)

    @Argument(help: VMNames.help, completion: VMNames.completion)
    var name: String

    @Option(help: "Seconds to allow the installers.")
    var timeout: Int = 1800

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let (agent, loaded) = try await GuestCommand.connect(name, timeout: 10)
        defer { agent.close() }
        guard FileManager.default.fileExists(atPath: loaded.paths.extrasISO) else { throw ExtrasError.notStaged(path: loaded.paths.extrasISO) }
        let outcome = try await ExtrasInstaller.install(agent: agent, timeout: .seconds(timeout))
        if global.json {
            try CommandSupport.printJSON(InstallJSON(drive: outcome.drive, exitCode: outcome.exitCode, output: outcome.output, errors: outcome.errors))
        } else {
            print("ran \(outcome.drive):\\install.cmd in \(loaded.spec.name)")
            print(outcome.output, terminator: "")
            StandardStream.error.write(outcome.errors)
        }
        if outcome.exitCode != 0 { throw ExitCode(Int32(outcome.exitCode ?? 1)) }
    }
}

struct InstallJSON: Encodable {
    var drive: String
    var exitCode: Int?
    var output: String
    var errors: String
}

import ArgumentParser
import FoundationEssentials
import Glibc
import Network

/// `vm net check NAME`
struct NetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "net", abstract: "Guest networking.",
        discussion: """
        EXAMPLES:
          vm net check win11
        """,
        subcommands: [NetCheckCommand.self])
}

/// `vm net check NAME [--json]`
struct NetCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "What the VM's network mode gives (LAN address or NAT), whether Parsec-style P2P is likely, and what to fix.",
        discussion: """
        Exit status 0 when no problem was found, 1 otherwise.

        EXAMPLES:
          vm net check win11
          vm net check win11 --json
        """)

    @Argument(help: VMNames.help, completion: VMNames.completion)
    var name: String

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let loaded = try CommandSupport.loader.load(name)
        let facts = NetworkFactsReader(fileSystem: CommandSupport.hostFileSystem).read(for: loaded.spec.network, uid: getuid())
        let verdict = NetworkCheck.verdict(for: loaded.spec.network, facts: facts)
        if global.json {
            try CommandSupport.printJSON(verdict)
        } else {
            print(Self.render(verdict, name: loaded.spec.name.rawValue))
        }
        if !verdict.ok { throw ExitCode(1) }
    }

    static func render(_ verdict: NetworkVerdict, name: String) -> String {
        var lines = ["\(name): network mode \(verdict.mode)",
                     "  gives:  \(verdict.gives)",
                     "  P2P:    \(verdict.p2p.rawValue): \(verdict.p2pReason)"]
        for problem in verdict.problems {
            lines.append("  problem: \(problem.problem)")
            lines.append("     fix: \(problem.fix)")
        }
        lines += verdict.notes.map { "  note:   \($0)" }
        return lines.joined(separator: "\n")
    }
}

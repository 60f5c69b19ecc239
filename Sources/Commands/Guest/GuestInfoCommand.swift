import ArgumentParser
import GuestAgent

/// `vm guest info NAME`
struct GuestInfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Show the guest OS, its network interfaces and the agent's commands.",
        discussion: """
        EXAMPLES:
          vm guest info win11
          vm guest info win11 --json
        """)

    @Argument(help: VMNames.help, completion: VMNames.completion)
    var name: String

    @Option(help: "Seconds to wait for the agent.")
    var timeout: Int = 10

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let (agent, _) = try await GuestCommand.connect(name, timeout: timeout)
        defer { agent.close() }
        let info = try await agent.info()
        if global.json { return try CommandSupport.printJSON(info) }
        print(Self.render(info))
    }

    static func render(_ info: GuestInfo) -> String {
        var lines = ["agent:       qemu-ga \(info.agentVersion) (\(info.enabledCommands.count) commands enabled)"]
        if let os = info.os {
            lines.append("os:          \(os.prettyName ?? os.id ?? "?")" + (os.kernelRelease.map { " (kernel \($0))" } ?? ""))
        }
        for interface in info.interfaces ?? [] {
            let addresses = interface.addresses.isEmpty ? "no address" : interface.addresses.joined(separator: ", ")
            lines.append("interface:   \(interface.name) \(interface.hardwareAddress ?? "") \(addresses)")
        }
        lines += info.notes.map { "note:        \($0)" }
        return lines.joined(separator: "\n")
    }
}

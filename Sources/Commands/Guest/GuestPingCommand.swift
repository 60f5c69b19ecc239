import ArgumentParser

/// `vm guest ping NAME`
struct GuestPingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping", abstract: "Check that the guest agent answers.",
        discussion: """
            EXAMPLES:
              vm guest ping win11
              vm guest ping win11 --timeout 60 --json
            """)

    @Argument(help: VMNames.help, completion: VMNames.completion)
    var name: String

    @Option(help: "Seconds to wait for the agent.")
    var timeout: Int = 10

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let (agent, loaded) = try await GuestCommand.connect(name, timeout: timeout)
        defer { agent.close() }
        try await agent.ping()
        if global.json { return try CommandSupport.printJSON(["name": loaded.spec.name.rawValue, "agent": "answering"]) }
        print("\(loaded.spec.name): the guest agent answers")
    }
}

import ArgumentParser

/// `vm pause NAME`
struct PauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause", abstract: "Stop a running VM's vCPUs; it stays in memory until `vm resume`.",
        discussion: """
            QEMU: QMP stop. libvirt: virDomainSuspend.

            EXAMPLES:
              vm pause win11
              vm pause win11 --json
            """)

    @Argument(help: VMNames.help, completion: VMNames.completion)
    var name: String

    @OptionGroup var backendOptions: BackendOptions

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await RunAction.pause.perform(on: name, backendOptions: backendOptions, global: global)
    }
}

import ArgumentParser

/// `vm resume NAME`
struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Let a paused VM's vCPUs run again.",
        discussion: """
            QEMU: QMP cont. libvirt: virDomainResume. Also starts a VM that `vm up --paused` left stopped.

            EXAMPLES:
              vm resume win11
              vm resume win11 --json
            """)

    @Argument(help: VMNames.help, completion: VMNames.completion)
    var name: String

    @OptionGroup var backendOptions: BackendOptions

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await RunAction.resume.perform(on: name, backendOptions: backendOptions, global: global)
    }
}

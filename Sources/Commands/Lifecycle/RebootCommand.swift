import ArgumentParser

/// `vm reboot NAME`
struct RebootCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reboot", abstract: "Reset a running VM at once, like its reset button; the guest boots again.",
        discussion: """
            The guest is not asked to shut down first: unsaved data in it is lost. QEMU: QMP system_reset. libvirt: virDomainReset.

            EXAMPLES:
              vm reboot win11
              vm reboot win11 --json
            """)

    @Argument(help: VMNames.help, completion: VMNames.completion)
    var name: String

    @OptionGroup var backendOptions: BackendOptions

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await RunAction.reboot.perform(on: name, backendOptions: backendOptions, global: global)
    }
}

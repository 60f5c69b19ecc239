import ArgumentParser

/// The `vm` command tree.
public struct RootCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vm",
        abstract: "Run GPU-passthrough virtual machines on Linux.",
        subcommands: [
            UpCommand.self, DownCommand.self, StatusCommand.self, ListCommand.self, LogCommand.self,
            InitCommand.self, ConfigCommand.self, QEMUArgsCommand.self, LibvirtXMLCommand.self,
            QMPCommand.self, SessionCommand.self,
            HostCommand.self, GPUCommand.self,
            GuestCommand.self, ExtrasCommand.self, NetCommand.self,
            SuperviseCommand.self,
        ]
    )

    public init() {}
}

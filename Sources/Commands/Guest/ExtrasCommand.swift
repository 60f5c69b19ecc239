import ArgumentParser

/// `vm extras stage|install NAME`
struct ExtrasCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extras", abstract: "Guest extras: a virtual display for streaming, guest agent and virtio installers.",
        subcommands: [ExtrasStageCommand.self, ExtrasInstallCommand.self])
}

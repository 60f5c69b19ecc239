import ArgumentParser

/// `vm extras stage|install NAME`
struct ExtrasCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extras", abstract: "Guest extras: a virtual display for streaming, guest agent and virtio installers.",
        discussion: """
        EXAMPLES:
          vm extras stage win11 --driver-dir ~/Downloads/usbmmidd
          vm extras install win11
        """,
        subcommands: [ExtrasStageCommand.self, ExtrasInstallCommand.self])
}

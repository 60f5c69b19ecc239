import ArgumentParser

/// The `vm` command tree.
public struct RootCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vm",
        abstract: "Run GPU-passthrough virtual machines on Linux.",
        subcommands: [QMPCommand.self]
    )

    public init() {}
}

import ArgumentParser

/// `vm gpu`: the host's GPUs.
public struct GPUCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "gpu",
        abstract: "List and move GPUs.",
        subcommands: [GPUListCommand.self]
    )

    public init() {}
}

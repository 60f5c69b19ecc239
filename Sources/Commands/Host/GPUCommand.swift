import ArgumentParser

/// `vm gpu`: the host's GPUs.
public struct GPUCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "gpu",
        abstract: "List and move GPUs.",
        discussion: """
        EXAMPLES:
          vm gpu list
          vm gpu attach win11
          vm gpu detach win11
          vm gpu release-plan win11
        """,
        subcommands: [GPUListCommand.self, GPUAttachCommand.self, GPUDetachCommand.self, GPURecoverCommand.self, GPUReleasePlanCommand.self]
    )

    public init() {}
}

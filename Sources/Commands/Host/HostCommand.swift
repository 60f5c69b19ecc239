import ArgumentParser

/// `vm host`: check and prepare the Linux host for GPU passthrough.
public struct HostCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "host",
        abstract: "Check and prepare this Linux host for GPU passthrough (VM_HOST_ROOT overrides /).",
        subcommands: [HostCheckCommand.self, HostCPUsCommand.self, HostIsolateCommand.self, HostBindCommand.self]
    )

    public init() {}
}

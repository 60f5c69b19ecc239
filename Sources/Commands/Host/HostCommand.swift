import ArgumentParser

/// `vm host`: check and prepare the Linux host for GPU passthrough.
public struct HostCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "host",
        abstract: "Check and prepare this Linux host for GPU passthrough (VM_HOST_ROOT overrides /).",
        discussion: """
        EXAMPLES:
          vm host check
          vm host cpus --vcpus 8
          vm host isolate 0000:05:00
          sudo vm host bind 0000:05:00 vfio-pci
        """,
        subcommands: [HostCheckCommand.self, HostCPUsCommand.self, HostIsolateCommand.self, HostBindCommand.self]
    )

    public init() {}
}

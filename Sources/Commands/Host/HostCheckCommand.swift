import FoundationEssentials
import Glibc
import ArgumentParser
import HostLinux

/// `vm host check`: is this host ready for GPU passthrough, and how to fix what is not.
public struct HostCheckCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check CPU virtualization, KVM, IOMMU, VFIO, OVMF, huge pages, QEMU and libvirt.",
        discussion: """
        Exits with status 1 when a check fails. On a host with one GPU, a last line says what holds it and how \
        host = "release" gives it to a VM.

        EXAMPLES:
          vm host check
          vm host check --json
        """
    )

    @OptionGroup var options: HostOptions

    public init() {}

    public func run() throws {
        let fileSystem = options.fileSystem()
        let checks = HostChecks.evaluate(HostFacts.read(fileSystem, runner: ProcessCommandRunner()))
        if options.json {
            try HostOutput.printJSON(checks)
        } else {
            let nameWidth = (checks.map(\.name.count).max() ?? 0) + 1
            for check in checks {
                print("\(check.status.rawValue.column(width: 5))\(check.name.column(width: nameWidth))\(check.message)")
                if let fix = check.fix, check.status != .ok { print("          fix: \(fix)") }
            }
            if let gpus = try? GPUInventory.read(fileSystem), gpus.count == 1,
               let note = try? GPUListCommand.onlyDisplayNote(gpus[0], fileSystem: fileSystem) {
                print("info gpu       \(note)")
            }
        }
        if checks.contains(where: { $0.status == .fail }) { throw ExitCode(1) }
    }
}

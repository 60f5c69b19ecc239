import ArgumentParser
import QEMU
import VMCore

/// `vm down NAME`
struct DownCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Stop a VM: ACPI power button, then quit, then SIGTERM, then SIGKILL.",
        discussion: """
            Exit status: 0 powered off by the guest (or not running), 3 ended by QMP quit, \
            4 by SIGTERM, 5 by SIGKILL, 1 on error. With the libvirt backend: the power button \
            (virDomainShutdown), then virDomainDestroy, which exits with 5.

            EXAMPLES:
              vm down win11
              vm down win11 --timeout 20
              vm down win11 --force
              vm down win11 --no-wait      # press the power button and return; vm status shows the end
            """)

    @Argument(help: VMNames.help, completion: VMNames.completion)
    var name: String

    @Option(help: "Seconds to wait for the guest to power off after the power button.")
    var timeout: Int = 60

    @Flag(help: "Skip the power button: end QEMU with quit at once (libvirt: destroy the domain).")
    var force = false

    @Flag(help: "Leave a hot-plugged GPU on vfio-pci after the VM stops (default: back to its host drivers). QEMU backend; libvirt's managed hostdevs always go back.")
    var keepGPUOnVFIO = false

    @Flag(help: "Ask for the same and return at once (exit 0): the VM's supervisor (libvirtd on that backend) carries on; `vm status` shows how it ended.")
    var noWait = false

    @OptionGroup var backendOptions: BackendOptions

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let loaded = try CommandSupport.loader.load(name)
        let (location, machine) = try backendOptions.locate(loaded, logger: CommandSupport.quietLogger(debug: global.debug))
        let backend = location.backend
        if let note = location.note, !global.json { print("\(loaded.spec.name) \(note)") }
        if noWait {
            let asked = try await machine.requestDown(timeout: .seconds(timeout), force: force, keepGPUOnVFIO: keepGPUOnVFIO)
            let name = loaded.spec.name.rawValue
            if global.json { return try CommandSupport.printJSON(["name": name, "outcome": asked ? "requested" : DownOutcome.notRunning.rawValue]) }
            print(asked ? "\(name): \(force ? "ending it" : "power button pressed"); `vm status \(name)` shows when it has stopped" : "\(name) is not running")
            return
        }
        let waiting = force ? "stopping \(loaded.spec.name)" : "stopping \(loaded.spec.name): the guest has up to \(timeout) s to power off"
        let outcome = try await ProgressLine.during(waiting) {
            try await machine.down(timeout: .seconds(timeout), force: force, keepGPUOnVFIO: keepGPUOnVFIO)
        }
        // The supervisor's record of the end, for a QEMU-backend VM that ran.
        let end = backend == .qemu && outcome != .notRunning
            ? RunRecordStore(path: loaded.paths.runRecord, vm: loaded.spec.name.rawValue).read().record?.end : nil
        if global.json {
            var fields = ["name": loaded.spec.name.rawValue, "outcome": outcome.rawValue]
            fields["ended"] = end?.summary
            try CommandSupport.printJSON(fields)
        } else {
            print(Self.message(outcome, name: loaded.spec.name.rawValue, timeout: timeout, force: force, backend: backend))
            if let end { print("  recorded: \(end.summary)") }
        }
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
    }

    static func message(_ outcome: DownOutcome, name: String, timeout: Int, force: Bool, backend: Backend = .qemu) -> String {
        let ignored = force ? "" : "the guest did not power off within \(timeout) s; "
        if case .libvirt = backend, outcome == .killed {
            return "\(name): \(ignored)libvirt destroyed the domain (virDomainDestroy)"
        }
        switch outcome {
        case .notRunning: return "\(name) is not running"
        case .poweredOff: return "\(name) powered off (ACPI power button)"
        case .quit: return "\(name): \(ignored)QEMU ended with QMP quit"
        case .terminated: return "\(name): \(ignored)QMP did not end QEMU; it ended on SIGTERM"
        case .killed: return "\(name): \(ignored)QEMU ignored quit and SIGTERM; it was killed (SIGKILL)"
        }
    }
}

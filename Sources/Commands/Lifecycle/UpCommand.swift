import ArgumentParser
import QEMU
import VMCore

/// `vm up NAME`
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up", abstract: "Start a VM and return once QEMU answers on QMP.",
        discussion: """
        EXAMPLES:
          vm up win11
          vm up win11 --paused
          vm up win11 --force      # host = "release": end what still holds the GPU
          vm up win11 --backend libvirt --connect qemu:///system
        """)

    @Argument(help: "The VM name (NAME.toml in the definition folders) or a path to a definition file.", completion: VMNames.completion)
    var name: String

    @Flag(help: "Leave the vCPUs stopped (QEMU -S); `vm qmp NAME cont` starts them.")
    var paused = false

    @Flag(help: "host = \"release\": end the processes that still hold the GPU once the desktop stopped (SIGTERM, then SIGKILL) instead of refusing.")
    var force = false

    @Flag(help: "libvirt backend: replace a shut-off domain of the same name that was defined from other content.")
    var redefine = false

    @OptionGroup var backendOptions: BackendOptions

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let loaded = try CommandSupport.loadResolved(name)
        let logger = CommandSupport.logger(debug: global.debug)
        let backend = try backendOptions.resolve(loaded.spec.backend)
        if redefine, backend == .qemu { throw CommandFailure("--redefine applies to the libvirt backend only") }
        var machine = try CommandSupport.backend(loaded, backend, redefine: redefine, logger: logger)
        if force {
            guard var qemu = machine as? QEMUMachine, qemu.spec.gpus.contains(where: { $0.hostRelease != nil }) else {
                throw CommandFailure("--force ends the processes holding a host = \"release\" GPU; \(loaded.spec.name) has none on the QEMU backend")
            }
            qemu.releaseForce = true
            machine = qemu
        }
        let report = try await machine.up(paused: paused)
        if global.json { return try CommandSupport.printJSON(report) }
        if report.recoveredStaleState { print("cleaned up the files a crashed run of \(report.name) left behind") }
        print("\(report.name) is up: QEMU \(report.qemuVersion), pid \(report.pid.map(String.init) ?? "?"), state \(report.qemuStatus)")
        if let socket = report.qmpSocket { print("QMP: \(socket)") }
        if let pinned = report.pinned { print("pinned:\n" + pinned.map { "  \($0)" }.joined(separator: "\n")) }
        if case .libvirt(let uri) = backend { print("libvirt: domain \(report.name) at \(uri)") }
    }
}

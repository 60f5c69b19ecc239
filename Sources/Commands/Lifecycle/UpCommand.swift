import ArgumentParser
import LibvirtXML
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
          vm up win11 --install      # boot the installation ISO, with a VNC display
          vm up win11 --force      # host = "release": end what still holds the GPU
          vm up win11 --backend libvirt --connect qemu:///system
        """)

    @Argument(help: "The VM name (NAME.toml in the definition folders) or a path to a definition file.", completion: VMNames.completion)
    var name: String

    @Flag(help: "Leave the vCPUs stopped (QEMU -S); `vm qmp NAME cont` starts them.")
    var paused = false

    @Flag(help: ArgumentHelp("Boot the [[cdrom]]s first (the installation ISO) with the standard VGA over VNC on localhost when the definition has no display.",
                             discussion: "Without --install the disks boot first, so the ISOs can stay attached; `vm edit NAME` removes them."))
    var install = false

    @Flag(help: "host = \"release\": end the processes that still hold the GPU once the desktop stopped (SIGTERM, then SIGKILL) instead of refusing.")
    var force = false

    @Flag(help: "libvirt backend: replace a shut-off domain of the same name that was defined from other content.")
    var redefine = false

    @OptionGroup var backendOptions: BackendOptions

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        var loaded = try await UpReadAhead.loadResolved(name)
        let logger = CommandSupport.logger(debug: global.debug)
        let backend = try backendOptions.resolve(loaded.spec.backend)
        if redefine, backend == .qemu { throw CommandFailure("--redefine applies to the libvirt backend only") }
        if install {
            loaded = try Self.installation(loaded)
        }
        let machine = try CommandSupport.backend(loaded, backend, redefine: redefine, releaseForce: force, logger: logger)
        let report = try await machine.up(paused: paused)
        if global.json { return try CommandSupport.printJSON(report) }
        if report.recoveredStaleState { print("cleaned up the files a crashed run of \(report.name) left behind") }
        print("\(report.name) is up: QEMU \(report.qemuVersion), pid \(report.pid.map(String.init) ?? "?"), state \(report.qemuStatus)")
        if let socket = report.qmpSocket { print("QMP: \(socket)") }
        if install, let vnc = loaded.spec.display.vnc, let (host, port) = try? DomainXMLBuilder.vncListen(vnc) {
            print("installer display: VNC on \(host) port \(port) (e.g. `vncviewer \(vnc)`); after installing, `vm down \(report.name)` and `vm up \(report.name)` boots the disk")
        }
        if let pinned = report.pinned { print("pinned:\n" + pinned.map { "  \($0)" }.joined(separator: "\n")) }
        if case .libvirt(let uri) = backend { print("libvirt: domain \(report.name) at \(uri)") }
    }

    /// `--install`: the definition as ``VMSpec/forInstallation()`` starts it (on libvirt, the
    /// installation's domain replaces the shut-off one, and the next `vm up` puts it back);
    /// refused without a CD-ROM to install from.
    static func installation(_ loaded: LoadedDefinition) throws -> LoadedDefinition {
        guard !loaded.spec.cdroms.isEmpty else {
            throw CommandFailure("--install boots from a [[cdrom]] and \(loaded.file) has none; add the installation ISO with `vm edit \(loaded.spec.name)` ([[cdrom]] path = \"Win11.iso\")")
        }
        return LoadedDefinition(file: loaded.file, spec: loaded.spec.forInstallation(), paths: loaded.paths)
    }
}

import ArgumentParser
import QEMU
import VMCore

/// `vm status NAME`
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show whether a VM runs, with its pid, uptime and passed-through devices.",
        discussion: """
        EXAMPLES:
          vm status win11
          vm status win11 --json
        """)

    @Argument(help: VMNames.help, completion: VMNames.completion)
    var name: String

    @OptionGroup var backendOptions: BackendOptions

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let loaded = try CommandSupport.loadResolved(name)
        let (location, machine) = try backendOptions.locate(loaded, logger: CommandSupport.logger(debug: global.debug))
        var report = await machine.status()
        report.note = location.note(before: report.note)
        if global.json { return try CommandSupport.printJSON(report) }
        print(Self.render(report, backend: location.backend))
    }

    static func render(_ report: VMStatusReport, backend: Backend = .qemu) -> String {
        var lines = ["\(report.name): \(report.state.rawValue)"]
        if case .libvirt(let uri) = backend { lines.append("  libvirt:      \(uri)") }
        if let pid = report.pid { lines.append("  pid:          \(pid)") }
        if let status = report.qemuStatus { lines.append("  QEMU status:  \(status)") }
        if let uptime = report.uptimeSeconds { lines.append("  uptime:       \(uptime / 3600)h \(uptime / 60 % 60)m \(uptime % 60)s") }
        if let socket = report.qmpSocket { lines.append("  QMP socket:   \(socket)") }
        if let devices = report.passthroughInGuest {
            lines.append("  passthrough:  \(devices.isEmpty ? "none in the guest" : devices.joined(separator: ", "))")
        }
        if let pinning = report.pinning, let first = pinning.first {
            lines.append("  pinning:      \(first)")
            lines += pinning.dropFirst().map { "                \($0)" }
        }
        if let tpm = report.tpm { lines.append("  TPM:          \(tpm)") }
        if let note = report.note { lines.append("  note:         \(note)") }
        return lines.joined(separator: "\n")
    }
}

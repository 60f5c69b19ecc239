import ArgumentParser
import FoundationEssentials
import Glibc
import QEMU
import VMCore

/// `vm list`
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List every defined VM with its state.",
        discussion: """
        EXAMPLES:
          vm list
          vm list --json
        """)

    @OptionGroup var backendOptions: BackendOptions

    @OptionGroup var global: GlobalOptions

    /// One row of `vm list`.
    struct Row: Encodable {
        var name: String
        var file: String
        var state: String
        var backend: String?
        var pid: Int32?
        /// What the backend added (libvirt unreachable, QMP did not answer, ...).
        var note: String?
        var error: String?
    }

    func run() async throws {
        let logger = CommandSupport.logger(debug: global.debug)
        var rows: [Row] = []
        for file in CommandSupport.loader.definitionFiles() {
            do {
                let loaded = try CommandSupport.loadResolved(file)
                let (location, machine) = try backendOptions.locate(loaded, logger: logger)
                let status = await machine.status()
                rows.append(Row(name: status.name, file: file, state: status.state.rawValue, backend: location.backend.label,
                                pid: status.pid, note: location.note(before: status.note)))
            } catch {
                rows.append(Row(name: DefinitionParser.stem(of: file), file: file, state: "invalid", error: "\(error)"))
            }
        }
        if global.json { return try CommandSupport.printJSON(rows) }
        if rows.isEmpty {
            print("no VMs defined (looked in \(CommandSupport.loader.layout.definitionDirectories.joined(separator: ", "))); `vm init NAME` writes one")
            return
        }
        let width = max(4, rows.map(\.name.count).max() ?? 0)
        let backendWidth = max(7, rows.map { $0.backend?.count ?? 1 }.max() ?? 0)
        print("NAME".column(width: width) + "  STATE          "
              + "BACKEND".column(width: backendWidth) + "  PID")
        for row in rows {
            let state = row.state.column(width: 13)
            let backend = (row.backend ?? "-").column(width: backendWidth)
            print(row.name.column(width: width) + "  \(state)  \(backend)  \(row.pid.map(String.init) ?? "-")")
        }
    }
}

import ArgumentParser
import FoundationEssentials
import Glibc
import HostLinux
import VMCore

/// `vm import FILE`
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Install a VM from a file of `vm export`: definition, UEFI variables, TPM state.",
        discussion: """
            Refused when a VM of that name has a definition or state here, or when a disk the \
            file carries (`vm export --with-disk`) would overwrite a file. Disks not in the file \
            must be copied separately; `vm config check NAME` says what is missing.

            EXAMPLES:
              vm import win11.vm.tar
            """)

    @Argument(help: "The archive `vm export` wrote.", completion: .file())
    var file: String

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let imported = try VMArchive(runner: ProcessCommandRunner()).importArchive(file, layout: CommandSupport.loader.layout)
        let state = (imported.stateFiles.isEmpty ? ["no state files"] : imported.stateFiles).joined(separator: ", ")
            + (imported.disks.isEmpty ? "" : "; disks: " + imported.disks.joined(separator: ", "))
        print("imported \(imported.name): \(imported.definitionFile), \(state); check it with `vm config check \(imported.name)`")
    }
}

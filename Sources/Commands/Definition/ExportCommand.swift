import ArgumentParser
import FoundationEssentials
import Glibc
import HostLinux
import VMCore

/// `vm export NAME FILE`
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write a stopped VM's definition, UEFI variables and TPM state to one file.",
        discussion: """
            The file (tar) keeps the VM's Secure Boot variables and TPM (BitLocker, Windows \
            activation) for `vm import` on another host. Disks stay where they are (copy them \
            yourself to the paths the definition names), or go in the file with --with-disk \
            (`vm import` puts them at those paths).

            EXAMPLES:
              vm export win11 win11.vm.tar
              vm export win11 /mnt/backup/win11.vm.tar --with-disk
            """)

    @Argument(help: VMNames.help, completion: VMNames.completion)
    var name: String

    @Argument(help: "The archive to write (never overwritten).", completion: .file())
    var file: String

    @Flag(help: "Put the disks in the file too (sparse), to be restored at the paths the definition names.")
    var withDisk = false

    @OptionGroup var backendOptions: BackendOptions

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let loaded = try CommandSupport.loader.load(name)
        let vm = loaded.spec.name.rawValue
        // Its UEFI variables and TPM state change while it runs.
        _ = try await backendOptions.stoppedBackend(of: loaded, debug: global.debug, for: "vm export \(vm) \(file)")
        let disks = withDisk ? loaded.spec.disks.map(\.path) : []
        try VMArchive(runner: ProcessCommandRunner()).export(name: loaded.spec.name, definitionFile: loaded.file, paths: loaded.paths,
                                                             disks: disks, to: file)
        let included = withDisk ? "and its disks (\(disks.isEmpty ? "none" : disks.joined(separator: ", ")))" : "(disks not included)"
        print("wrote \(file): the definition of \(vm), its UEFI variables and TPM state \(included)")
    }
}

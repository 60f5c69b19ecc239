import ArgumentParser
import Extras
import FoundationEssentials
import Glibc
import HostLinux

/// `vm extras stage NAME [--driver-dir DIR] [--virtio-win ISO] [--resolution WxH]`
struct ExtrasStageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stage", abstract: "Build the extras ISO (install scripts + your driver files) in the VM's state folder.",
        discussion: """
            vm downloads nothing. --driver-dir holds what you downloaded: usbmmidd (usbmmidd.inf, \
            deviceinstaller64.exe) or an IddCx virtual display driver (its .inf plus devcon.exe or \
            nefconc.exe). --virtio-win names a virtio-win ISO to take the virtio and guest-agent \
            installers from. The disc lists what is missing in MISSING.txt. A running VM gets the ISO \
            in its CD drive now; otherwise it is attached at the next `vm up`.

            EXAMPLES:
              vm extras stage win11 --driver-dir ~/Downloads/usbmmidd
              vm extras stage win11 --virtio-win ~/Downloads/virtio-win.iso --resolution 2560x1440
            """)

    @Argument(help: VMNames.help, completion: VMNames.completion)
    var name: String

    @Option(name: .customLong("driver-dir"), help: "Folder with the virtual display driver files.")
    var driverDirectory: String?

    @Option(name: .customLong("virtio-win"), help: "A virtio-win ISO to take installers from.")
    var virtioWin: String?

    @Option(help: "Resolution of the virtual display (WIDTHxHEIGHT).")
    var resolution: String = "3840x2160"

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let size = try Resolution(parsing: resolution)
        let loaded = try CommandSupport.loadResolved(name)
        let (result, attached) = try await ExtrasStaging.stageAndAttach(
            loaded, driverDirectory: driverDirectory, virtioWinISO: virtioWin, resolution: size,
            logger: CommandSupport.logger(debug: global.debug))
        if global.json {
            return try CommandSupport.printJSON(StageJSON(iso: result.iso, files: result.files, missing: result.missing, attach: attached))
        }
        print("wrote \(result.iso) (\(result.files.count) files)")
        print(attached)
        if !result.missing.isEmpty {
            print("missing (see MISSING.txt on the disc):")
            for line in result.missing { print("  - \(line)") }
        }
    }
}

struct StageJSON: Encodable {
    var iso: String
    var files: [String]
    var missing: [String]
    var attach: String
}

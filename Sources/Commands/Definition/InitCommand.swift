import ArgumentParser
import FoundationEssentials
import Glibc
import HostLinux
import QMP
import VMCore

/// `vm init NAME`
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Write a commented starter definition with this host's OVMF paths.",
        discussion: """
        With --windows: a Windows 11 definition (TPM 2.0, Secure Boot with Microsoft's keys, a SATA
        disk, the installation ISO and the virtio-win ISO as CD-ROMs), and its new qcow2 disk in the
        VM's state folder (an existing disk is never overwritten). Then `vm up NAME --install`.

        EXAMPLES:
          vm init win11
          vm init win11 --gpu 0000:05:00
          vm init lab --output ./lab.toml --force
          vm init win11 --windows --iso ~/Downloads/Win11.iso --virtio-win ~/Downloads/virtio-win.iso --gpu 0000:05:00
        """)

    @Argument(help: "The new VM's name (letters, digits, '-', '_').")
    var name: String

    @Option(help: "Pass this GPU slot through (every function of it), e.g. 0000:05:00.", completion: Completions.gpuSlots)
    var gpu: String?

    @Option(help: "Write the file here instead of the first definition folder.")
    var output: String?

    @Flag(help: "Replace an existing file.")
    var force = false

    @Flag(help: "Write a Windows 11 definition and create its disk (needs --iso).")
    var windows = false

    @Option(help: "With --windows: the Windows installation ISO.", completion: .file(extensions: ["iso"]))
    var iso: String?

    @Option(help: "With --windows: the virtio-win driver ISO.", completion: .file(extensions: ["iso"]))
    var virtioWin: String?

    @Option(help: "With --windows: the size of the new disk (qcow2, grows as used; default \(Self.defaultDiskSize)).")
    var diskSize: String?

    /// The disk `vm init --windows` makes when no --disk-size is given.
    static let defaultDiskSize = "128G"

    func validate() throws {
        do { _ = try VMName(name) } catch { throw ValidationError(error.description) }
        if let gpu, PCISlot(gpu) == nil {
            throw ValidationError("--gpu \(gpu) is not a PCI slot; write it as DDDD:BB:SS, e.g. 0000:05:00 (see `vm gpu list`)")
        }
        guard windows else {
            if iso != nil || virtioWin != nil || diskSize != nil {
                throw ValidationError("--iso, --virtio-win and --disk-size go with --windows")
            }
            return
        }
        guard iso != nil else { throw ValidationError("--windows needs --iso FILE, the Windows 11 installation ISO (microsoft.com/software-download/windows11)") }
        if let diskSize, !DiskImage.isSize(diskSize) { throw ValidationError(DiskImageError.badSize(diskSize).description) }
    }

    func run() async throws {
        if windows { return try runWindows() }
        let firmware = OVMFImages.find(secureBoot: false) { FileManager.default.fileExists(atPath: $0) }
        let text = try Self.render(name: name, gpu: gpu.flatMap(PCISlot.init), firmware: firmware,
                                   templates: TemplateDirectory.locate())
        let directory = CommandSupport.loader.layout.definitionDirectories[0]
        let path = output ?? "\(directory)/\(name).toml"
        if FileManager.default.fileExists(atPath: path), !force {
            throw CommandFailure("\(path) exists; pass --force to replace it")
        }
        try FileAccess.write(text, to: path)
        print("wrote \(path); check it with `vm config check \(name)`")
    }

    /// `--windows`: the definition, after its disk (so a disk that cannot be made leaves no definition).
    func runWindows() throws {
        let layout = CommandSupport.loader.layout
        let path = output ?? "\(layout.definitionDirectories[0])/\(name).toml"
        if FileManager.default.fileExists(atPath: path), !force {
            throw CommandFailure("\(path) exists; pass --force to replace it")
        }
        for (option, file) in [("--iso", iso), ("--virtio-win", virtioWin)] {
            if let file, let problem = FileProblem.onHost(file) {
                throw CommandFailure("\(option) \(file) \(problem.description); \(problem.fix)")
            }
        }
        let paths = layout.paths(for: try VMName(name))
        let disk = "\(paths.stateDirectory)/disk.qcow2"
        let size = diskSize ?? Self.defaultDiskSize
        let text = try Self.renderWindows(
            WindowsSetup(name: name, disk: disk, diskSize: size, iso: Self.absolute(iso ?? ""), virtioWin: virtioWin.map(Self.absolute),
                         gpu: gpu.flatMap(PCISlot.init),
                         firmware: OVMFImages.find(secureBoot: true) { FileManager.default.fileExists(atPath: $0) },
                         kvmProblem: KVMProbe.problem()),
            templates: TemplateDirectory.locate())
        try PrivateDirectory.make(paths.stateDirectory)
        try DiskImage(runner: ProcessCommandRunner()).createQCOW2(at: disk, size: size)
        try FileAccess.write(text, to: path)
        print("created \(disk) (\(size), qcow2)")
        print("wrote \(path); check it with `vm config check \(name)`, install with `vm up \(name) --install`")
    }

    /// `path` from the current folder, as the definition names it.
    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// What a Windows definition is made of.
    struct WindowsSetup {
        var name: String
        var disk: String
        var diskSize: String
        var iso: String
        var virtioWin: String?
        var gpu: PCISlot?
        /// The Secure Boot pair found on this host (nil: `vm` looks at start).
        var firmware: OVMFImages?
        /// Why KVM cannot run a guest here (the definition then says "tcg"), or nil.
        var kvmProblem: String?
    }

    /// The Windows 11 definition from `templates/windows.toml`. Pure.
    static func renderWindows(_ setup: WindowsSetup, templates: TemplateDirectory) throws -> String {
        let commentedOut = "# "
        let note = setup.kvmProblem.map { problem in
            "  # KVM cannot run a guest on this host (\(problem.split(whereSeparator: \.isNewline).joined(separator: " "))); write \"kvm\" where it can"
        }
        func quoted(_ text: String) -> String { JSONWriter.string(.string(text)) }
        // Without a pair on this host, the preferred known one, commented out.
        let firmware = setup.firmware ?? OVMFImages.knownLocations.first(where: \.secureBoot)
        return try templates.render("windows.toml", [
            "NAME": setup.name,
            "ACCELERATOR": setup.kvmProblem == nil ? "kvm" : "tcg",
            "ACCELERATOR_NOTE": note ?? "",
            "OVMF_CODE": quoted(firmware?.code ?? ""),
            "OVMF_VARS": quoted(firmware?.varsTemplate ?? ""),
            "FIRMWARE_COMMENT": setup.firmware == nil ? commentedOut : "",
            "DISK": quoted(setup.disk),
            "DISK_SIZE": setup.diskSize,
            "ISO": quoted(setup.iso),
            "VIRTIO_WIN": quoted(setup.virtioWin ?? "virtio-win.iso"),
            "VIRTIO_COMMENT": setup.virtioWin == nil ? commentedOut : "",
            // Windows has a driver for the e1000e; virtio-net's is on the virtio-win ISO.
            "NIC_MODEL": setup.virtioWin == nil ? "e1000e" : "virtio-net-pci",
            "GPU_SLOT": setup.gpu?.description ?? "0000:05:00",
            "GPU_COMMENT": setup.gpu == nil ? commentedOut : "",
        ])
    }

    /// The starter definition from `templates/vm.toml`.
    static func render(name: String, gpu: PCISlot?, firmware: OVMFImages?, templates: TemplateDirectory) throws -> String {
        let commentedOut = "# "
        return try templates.render("vm.toml", [
            "NAME": name,
            "OVMF_CODE": firmware?.code ?? "/usr/share/OVMF/OVMF_CODE_4M.fd",
            "OVMF_VARS": firmware?.varsTemplate ?? "/usr/share/OVMF/OVMF_VARS_4M.fd",
            "FIRMWARE_COMMENT": firmware == nil ? commentedOut : "",
            "GPU_SLOT": gpu?.description ?? "0000:05:00",
            "GPU_COMMENT": gpu == nil ? commentedOut : "",
        ])
    }
}

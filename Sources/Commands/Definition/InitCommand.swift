import ArgumentParser
import Foundation
import HostLinux
import VMCore

/// `vm init NAME`
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Write a commented starter definition with this host's OVMF paths.",
        discussion: """
        EXAMPLES:
          vm init win11
          vm init win11 --gpu 0000:05:00
          vm init lab --output ./lab.toml --force
        """)

    @Argument(help: "The new VM's name (letters, digits, '-', '_').")
    var name: String

    @Option(help: "Pass this GPU slot through (every function of it), e.g. 0000:05:00.", completion: Completions.gpuSlots)
    var gpu: String?

    @Option(help: "Write the file here instead of the first definition folder.")
    var output: String?

    @Flag(help: "Replace an existing file.")
    var force = false

    func validate() throws {
        do { _ = try VMName(name) } catch { throw ValidationError(error.description) }
        if let gpu, PCISlot(gpu) == nil {
            throw ValidationError("--gpu \(gpu) is not a PCI slot; write it as DDDD:BB:SS, e.g. 0000:05:00 (see `vm gpu list`)")
        }
    }

    func run() async throws {
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

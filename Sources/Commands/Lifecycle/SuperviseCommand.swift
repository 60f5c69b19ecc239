import ArgumentParser
import Foundation
import QEMU
import VMCore

/// `vm supervise DEFINITION ...`: the per-VM supervisor (``VMSupervisor``). Hidden: `vm up`
/// starts it with QEMU, and any `vm` command starts one to adopt a QEMU whose supervisor died.
struct SuperviseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: SupervisorInvocation.subcommand,
        abstract: "Supervise a running VM (started by vm itself).",
        shouldDisplay: false)

    @Argument(help: "The definition file.")
    var definition: String

    @Option(help: "The VM's runtime folder.")
    var runtimeDir: String

    @Option(help: "The VM's state folder.")
    var stateDir: String

    @Option(help: "QEMU's pid.")
    var qemuPid: Int32

    @Flag(help: "QEMU runs already and is not this process's child.")
    var adopt = false

    @Option(help: "A macvtap device to hand to QEMU.")
    var tapFd: Int32?

    @Flag(help: "Start the vCPUs after the macvtap hand-over.")
    var resume = false

    @Option(help: "The VM's TPM emulator (swtpm) to watch and stop.")
    var swtpmPid: Int32?

    func run() async throws {
        let runtimeRoot = (runtimeDir as NSString).deletingLastPathComponent
        let stateRoot = (stateDir as NSString).deletingLastPathComponent
        let layout = StateLayout(definitionDirectories: [(definition as NSString).deletingLastPathComponent],
                                 runtimeRoot: runtimeRoot, stateRoot: stateRoot)
        let loaded = try DefinitionLoader(layout: layout).load(definition)
        let resolved = LoadedDefinition(file: loaded.file, spec: CommandSupport.resolve(loaded.spec), paths: loaded.paths)
        guard resolved.paths.runtimeDirectory == runtimeDir, resolved.paths.stateDirectory == stateDir else {
            throw ValidationError("\(definition) names VM \(loaded.spec.name), whose folders are not \(runtimeDir) and \(stateDir)")
        }
        var logger = CommandSupport.logger(debug: false)
        logger[metadataKey: "vm"] = "\(loaded.spec.name)"
        let machine = try CommandSupport.qemuMachine(resolved, logger: logger)
        let text = (try? String(contentsOfFile: loaded.file, encoding: .utf8)) ?? ""
        let role: VMSupervisor.Role = adopt ? .adopting : .starting(tapDescriptor: tapFd, resume: resume, swtpmPID: swtpmPid)
        let status = await VMSupervisor.run(machine: machine, qemuPID: qemuPid, role: role,
                                            fingerprint: DefinitionFingerprint(text: text).description)
        if status != 0 { throw ExitCode(status) }
    }
}

import FoundationEssentials
import Glibc
import HostLinux
import Logging
import QEMU
import VMCore

/// `vm-supervisor`: the per-VM supervisor (``VMSupervisor``), an executable of its own so that
/// the process that lives as long as the VM loads only what it needs (no argument parser, no
/// command tree, no libvirt). `vm up` starts it with QEMU, and any `vm` command starts one to
/// adopt a QEMU whose supervisor died (``SupervisorInvocation``); logs go to stderr, which its
/// starter points at the VM's supervisor log.
@main
enum SupervisorMain {
    static func main() async {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        exit(await run(Array(CommandLine.arguments.dropFirst())))
    }

    /// Supervises the VM that `arguments` name until its QEMU has ended; the exit status.
    static func run(_ arguments: [String]) async -> Int32 {
        do {
            let request = try SupervisorInvocation.Request(arguments: arguments)
            let loaded = try load(request)
            var logger = Logger(label: "vm")
            logger.logLevel = .notice
            logger[metadataKey: "vm"] = "\(loaded.spec.name)"
            let machine = try QEMUMachine.onThisHost(loaded, logger: logger)
            let text = (try? String(contentsOfFile: loaded.file, encoding: .utf8)) ?? ""
            let role: VMSupervisor.Role = request.adopt
                ? .adopting : .starting(tapDescriptor: request.tapDescriptor, resume: request.resume, swtpmPID: request.swtpmPID)
            // It runs for as long as the VM: a second after it serves (`vm up`'s own request
            // answered), the code it ran only to start need not stay mapped (docs/bench.md, the
            // supervisor's resident size).
            return await VMSupervisor.run(machine: machine, qemuPID: request.qemuPID, role: role,
                                          fingerprint: DefinitionFingerprint(text: text).description) {
                Task {
                    try? await Task.sleep(for: .seconds(1))
                    if let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) { ResidentCode.release(mapsText: maps) }
                }
            }
        } catch {
            StandardStream.error.write("vm-supervisor: \(error)\n")
            return 1
        }
    }

    /// The definition the request names, resolved on this host; its folders must be the ones the
    /// request names.
    static func load(_ request: SupervisorInvocation.Request) throws -> LoadedDefinition {
        let parent = PathName.folder(of:)
        let layout = StateLayout(definitionDirectories: [parent(request.definitionFile)],
                                 runtimeRoot: parent(request.runtimeDirectory), stateRoot: parent(request.stateDirectory))
        let loaded = try DefinitionLoader(layout: layout).load(request.definitionFile)
        guard loaded.paths.runtimeDirectory == request.runtimeDirectory, loaded.paths.stateDirectory == request.stateDirectory else {
            throw SupervisorInvocation.RequestError(
                "\(request.definitionFile) names VM \(loaded.spec.name), whose folders are not \(request.runtimeDirectory) and \(request.stateDirectory)")
        }
        return LoadedDefinition(file: loaded.file, spec: loaded.spec.resolvedOnHost(RootedFileSystem(root: .fromEnvironment())),
                                paths: loaded.paths)
    }
}

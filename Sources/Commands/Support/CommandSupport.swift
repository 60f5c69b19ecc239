import ArgumentParser
import FoundationEssentials
import Glibc
import HostLinux
import Logging
import QMP
import Extras
import QEMU
import Sessions
import VMCore

/// What every VM command does first: find the definition, fill in what the host provides, and
/// build the backend object.
enum CommandSupport {
    /// The definition loader for this process.
    static var loader: DefinitionLoader { DefinitionLoader.standard() }

    /// The host's file system under `VM_HOST_ROOT` (default `/`).
    static var hostFileSystem: any HostFileSystem { RootedFileSystem(root: HostRoot.fromEnvironment()) }

    /// Loads `nameOrPath` and resolves OVMF paths and GPU functions on this host.
    static func loadResolved(_ nameOrPath: String) throws -> LoadedDefinition {
        let loaded = try loader.load(nameOrPath)
        return LoadedDefinition(file: loaded.file, spec: resolve(loaded.spec), paths: loaded.paths)
    }

    /// `spec` with what this host provides filled in (``VMSpec/resolvedOnHost(_:environment:)``).
    static func resolve(_ spec: VMSpec) -> VMSpec { spec.resolvedOnHost(hostFileSystem) }

    /// The QEMU backend for a resolved definition; refused for a VM that libvirt runs (the
    /// commands that call this drive QEMU themselves).
    static func machine(_ loaded: LoadedDefinition, logger: Logger) throws -> QEMUMachine {
        guard loaded.spec.backend == .qemu else {
            throw CommandFailure("\(loaded.spec.name) runs on the libvirt backend; this command works on VMs vm launches itself (backend = \"qemu\")")
        }
        return try qemuMachine(loaded, logger: logger)
    }

    /// The QEMU backend for a resolved definition, whatever backend it names (`vm up --backend
    /// qemu` runs a libvirt-backed definition on vm's own QEMU too).
    static func qemuMachine(_ loaded: LoadedDefinition, logger: Logger) throws -> QEMUMachine {
        var machine = try QEMUMachine.onThisHost(loaded, logger: logger)
        machine.libvirtQEMU = { await UpReadAhead.libvirtQEMU(named: $0) }
        return machine
    }

    /// The backend that runs `loaded`: `vm` launching QEMU, or libvirtd at a URI. `redefine` lets
    /// the libvirt backend replace a shut-off domain defined from other content; `releaseForce`
    /// lets `vm up` end what holds a `host = "release"` GPU (QEMU backend; refused elsewhere).
    static func backend(_ loaded: LoadedDefinition, _ backend: Backend, redefine: Bool = false, releaseForce: Bool = false,
                        logger: Logger) throws -> any SessionBackend {
        if releaseForce, backend != .qemu || !loaded.spec.gpus.contains(where: { $0.hostRelease != nil && $0.plug == .boot }) {
            throw CommandFailure("--force ends the processes holding a host = \"release\" GPU plugged at boot; \(loaded.spec.name) has none on the QEMU backend "
                                 + "(a hot one is released by `vm gpu attach`, which takes --force)")
        }
        if case .libvirt = backend, let index = loaded.spec.gpus.firstIndex(where: { $0.hostRelease != nil }) {
            throw CommandFailure("gpu[\(index)] of \(loaded.spec.name) has host = \"release\", which the libvirt backend does not do: libvirtd runs "
                                 + "and ends the VM there, and vm would not be there to give the host its display back "
                                 + "(fix: use the QEMU backend, or remove host = \"release\")")
        }
        switch backend {
        case .qemu:
            var machine = try qemuMachine(loaded, logger: logger)
            machine.releaseForce = releaseForce
            return machine
        case .libvirt(let uri):
            let check = BootPassthroughCheck(fileSystem: hostFileSystem, driverSwitchedByLibvirt: true)
            return try LibvirtLink.provider().machine(loaded, uri: uri, redefine: redefine, hostFileSystem: hostFileSystem,
                                                      passthroughProblems: { check.problems(for: $0) })
        }
    }

    /// What sessions on this VM can use besides the VM itself, on `backend`.
    static func sessionServices(_ loaded: LoadedDefinition, on backend: Backend, logger: Logger) throws -> SessionServices {
        var agent: (any GuestAgentAccess)?
        if loaded.spec.guestAgent {
            switch backend {
            case .qemu: agent = GuestAgentSocket(socket: loaded.paths.agentSocket)
            // libvirt owns the agent's socket on its backend and forwards the commands.
            case .libvirt(let uri): agent = GuestAgentThroughChannel(channel: try LibvirtLink.provider().guestAgent(uri: uri, domain: loaded.spec.name.rawValue))
            }
        }
        return SessionServices(
            guestAgent: agent,
            stageExtras: { driverDirectory in
                let (result, attached) = try await ExtrasStaging.stageAndAttach(
                    loaded, driverDirectory: driverDirectory, virtioWinISO: nil, resolution: .uhd, logger: logger)
                return "\(result.iso): \(attached)"
            })
    }

    /// A QMP client on the VM's own QMP socket (QEMU backend); a VM that is not running is a
    /// run-time failure that says how to start it.
    static func qmp(_ loaded: LoadedDefinition, debug: Bool = false) async throws -> QMPClient {
        let vm = loaded.spec.name.rawValue
        do {
            return try await QMPClient.connect(path: loaded.qmpSocket, logger: logger(debug: debug))
        } catch {
            throw CommandFailure("cannot reach the QEMU of \(vm): \(error); `vm up \(vm)` starts it")
        }
    }

    /// A logger for commands whose own lines already say what the backend's notices would (a
    /// progress line or the session printer owns the terminal): `debug` when asked, else `warning`.
    static func quietLogger(debug: Bool) -> Logger {
        var logger = logger(debug: debug)
        if !debug { logger.logLevel = .warning }
        return logger
    }

    /// A logger at `debug` when asked, else `notice`.
    static func logger(debug: Bool) -> Logger {
        var logger = Logger(label: "vm")
        logger.logLevel = debug ? .debug : .notice
        return logger
    }

    /// Pretty, key-sorted JSON on stdout.
    static func printJSON<Value: Encodable>(_ value: Value) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}

import ArgumentParser
import Logging
import Sessions
import VMCore

/// `--backend` and `--connect`, taken by the lifecycle verbs.
struct BackendOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Run the VM with this backend instead of the definition's.", valueName: "qemu|libvirt"), completion: Completions.backends)
    var backend: String?

    @Option(help: ArgumentHelp("libvirt connection URI (implies --backend libvirt), e.g. qemu:///system or qemu+ssh://host/system.",
                               valueName: "uri"))
    var connect: String?

    func validate() throws {
        do {
            _ = try BackendSelection.resolve(definition: .qemu, backend: backend, connect: connect)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The backend for a definition that chose `definition`.
    func resolve(_ definition: Backend) throws -> Backend {
        try BackendSelection.resolve(definition: definition, backend: backend, connect: connect)
    }

    /// Where the VM of `loaded` runs: on `--backend`/`--connect` when given; else wherever it runs
    /// now (``BackendSelection/locate(name:definition:qemuBackendRuns:libvirtRuns:)``): the QEMU
    /// backend's run record, then libvirt when a local libvirt QEMU carries the VM's name (only
    /// then is libvirt asked, so `vm` hands over to `vm-libvirt` only for a VM that libvirt may run).
    /// A VM that runs nowhere is where its definition says.
    func location(of loaded: LoadedDefinition) throws -> BackendSelection.Location {
        if backend != nil || connect != nil { return .init(backend: try resolve(loaded.spec.backend)) }
        let name = loaded.spec.name.rawValue
        return try BackendSelection.locate(
            name: name, definition: loaded.spec.backend,
            qemuBackendRuns: OtherBackend.qemuBackendQEMU(named: name, paths: loaded.paths) != nil,
            libvirtRuns: { uri in
                try OtherBackend.libvirtQEMU(named: name) != nil && LibvirtLink.provider().isActive(uri: uri, domain: name)
            })
    }

    /// Where the VM of `loaded` runs (``location(of:)``) and the backend object for it.
    func locate(_ loaded: LoadedDefinition, logger: Logger) throws -> (BackendSelection.Location, any SessionBackend) {
        let location = try location(of: loaded)
        return (location, try CommandSupport.backend(loaded, location.backend, logger: logger))
    }

    /// Where the VM of `loaded` runs (``location(of:)``) and what it is doing there (libvirt: asked
    /// through vm-libvirt).
    func state(of loaded: LoadedDefinition, debug: Bool) async throws -> (Backend, VMState) {
        let (location, machine) = try locate(loaded, logger: CommandSupport.logger(debug: debug))
        return (location.backend, await machine.status().state)
    }

    /// The backend of a VM that must be stopped for `command` (e.g. `vm rm win11`), wherever it
    /// runs; the refusal names where and tells the user to run `command` again after `vm down`.
    func stoppedBackend(of loaded: LoadedDefinition, debug: Bool, for command: String) async throws -> Backend {
        let (backend, state) = try await state(of: loaded, debug: debug)
        let vm = loaded.spec.name.rawValue
        guard state == .stopped else {
            throw CommandFailure("\(vm) is \(state.rawValue) on \(backend.label); `vm down \(vm)` stops it, then run `\(command)` again")
        }
        return backend
    }
}

extension Backend {
    /// `qemu`, or `libvirt URI`.
    var label: String {
        switch self {
        case .qemu: return "qemu"
        case .libvirt(let uri): return "libvirt \(uri)"
        }
    }
}

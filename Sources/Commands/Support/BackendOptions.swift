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

    /// Where the VM of `loaded` runs and the backend object for it: on `--backend`/`--connect` when
    /// given; else wherever it runs now (``BackendSelection/locate(name:definition:qemuBackendRuns:libvirtRuns:)``):
    /// the QEMU backend's run record, then libvirt when a local libvirt QEMU carries the VM's
    /// name (only then is libvirt asked, so `vm` hands over to `vm-libvirt` only for a VM that
    /// libvirt may run).
    func locate(_ loaded: LoadedDefinition, logger: Logger) throws -> (BackendSelection.Location, any SessionBackend) {
        let location: BackendSelection.Location
        if backend != nil || connect != nil {
            location = .init(backend: try resolve(loaded.spec.backend))
        } else {
            let name = loaded.spec.name.rawValue
            location = try BackendSelection.locate(
                name: name, definition: loaded.spec.backend,
                qemuBackendRuns: OtherBackend.qemuBackendQEMU(named: name, paths: loaded.paths) != nil,
                libvirtRuns: { uri in
                    try OtherBackend.libvirtQEMU(named: name) != nil && LibvirtLink.provider().isActive(uri: uri, domain: name)
                })
        }
        return (location, try CommandSupport.backend(loaded, location.backend, logger: logger))
    }

    /// The backend of `loaded` and what the VM is doing there (libvirt: asked through vm-libvirt).
    func state(of loaded: LoadedDefinition, debug: Bool) async throws -> (Backend, VMState) {
        let backend = try resolve(loaded.spec.backend)
        let status = try await CommandSupport.backend(loaded, backend, logger: CommandSupport.logger(debug: debug)).status()
        return (backend, status.state)
    }

    /// The backend of a VM that must be stopped for `command` (e.g. `vm rm win11`), which the
    /// refusal tells the user to run again after `vm down`.
    func stoppedBackend(of loaded: LoadedDefinition, debug: Bool, for command: String) async throws -> Backend {
        let (backend, state) = try await state(of: loaded, debug: debug)
        let vm = loaded.spec.name.rawValue
        guard state == .stopped else {
            throw CommandFailure("\(vm) is \(state.rawValue); `vm down \(vm)` stops it, then run `\(command)` again")
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

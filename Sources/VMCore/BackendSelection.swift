/// Which backend a command uses: the definition's (`backend`, `libvirt_uri`), overridden by
/// `--backend qemu|libvirt` and `--connect URI` (a URI implies libvirt).
public enum BackendSelection {
    /// A contradictory or unknown choice on the command line.
    public enum Problem: Error, Equatable, CustomStringConvertible {
        case unknownBackend(String)
        case connectWithQEMU

        public var description: String {
            switch self {
            case .unknownBackend(let name): return "'\(name)' is not a backend; use --backend qemu or --backend libvirt"
            case .connectWithQEMU: return "--connect is a libvirt URI; it cannot go with --backend qemu"
            }
        }
    }

    /// The URI `--backend libvirt` uses when neither `--connect` nor the definition names one.
    public static let defaultURI = "qemu:///system"

    /// The backend for a definition whose own choice is `definition`, given the command-line
    /// `backend` name and `connect` URI (nil when not given).
    public static func resolve(definition: Backend, backend: String?, connect: String?) throws(Problem) -> Backend {
        switch (backend, connect) {
        case ("qemu"?, _?):
            throw .connectWithQEMU
        case ("qemu"?, nil):
            return .qemu
        case (nil, let uri?), ("libvirt"?, let uri?):
            return .libvirt(uri: uri)
        case ("libvirt"?, nil):
            if case .libvirt = definition { return definition }
            return .libvirt(uri: defaultURI)
        case (nil, nil):
            return definition
        case (let other?, _):
            throw .unknownBackend(other)
        }
    }
}

extension BackendSelection {
    /// Where a VM runs, as the verbs that find it without `--backend` see it.
    public struct Location: Sendable, Equatable {
        public let backend: Backend
        /// Said when the VM runs elsewhere than its definition says.
        public let note: String?

        public init(backend: Backend, note: String? = nil) {
            self.backend = backend
            self.note = note
        }

        /// A backend's own note (`vm status`'s) with this location's note in front.
        public func note(before other: String?) -> String? {
            let notes = [note, other].compactMap { $0 }
            return notes.isEmpty ? nil : notes.joined(separator: "; ")
        }
    }

    /// The backend that runs VM `name` now, for the verbs on a VM (`vm status`, `list`, `down`, `gpu`,
    /// `pause`, `resume`, `reboot`, `snapshot`, `rm`, `export`) when the
    /// command line chose none: the definition's, unless the VM runs on the other backend. The
    /// QEMU backend's QEMU (`qemuBackendRuns`, from its run record) wins for any definition; a
    /// definition that says qemu and whose QEMU does not run is looked for as an active libvirt
    /// domain of the same name at ``defaultURI`` (`libvirtRuns(uri)`, which may hand the
    /// command to `vm-libvirt`).
    public static func locate(name: String, definition: Backend, qemuBackendRuns: Bool,
                              libvirtRuns: (String) throws -> Bool) rethrows -> Location {
        switch definition {
        case .qemu:
            guard !qemuBackendRuns, try libvirtRuns(defaultURI) else { return Location(backend: .qemu) }
            return Location(backend: .libvirt(uri: defaultURI),
                            note: "runs as the libvirt domain \(name) at \(defaultURI), although its definition says backend = \"qemu\"")
        case .libvirt:
            guard qemuBackendRuns else { return Location(backend: definition) }
            return Location(backend: .qemu, note: "runs on the QEMU backend (vm's own QEMU), although its definition says backend = \"libvirt\"")
        }
    }
}

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

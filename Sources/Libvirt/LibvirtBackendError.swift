/// Why the libvirt backend refused or failed a lifecycle verb; each case says what to do.
public enum LibvirtBackendError: Error, Equatable, CustomStringConvertible {
    /// The connection could not be opened (daemon down, wrong URI, ssh refused).
    case unreachable(uri: String, message: String)
    /// The domain already runs.
    case alreadyRunning(name: String, uri: String, pid: Int32?)
    /// libvirt has a domain of this name that was not defined from the current definition.
    /// `running` says whether it must be stopped before `--redefine` can replace it.
    case definedWithOtherContent(name: String, uri: String, running: Bool)

    public var description: String {
        switch self {
        case .unreachable(let uri, let message):
            return """
                cannot connect to libvirt at \(uri): \(message)
                is libvirtd running there (`systemctl start libvirtd`, or `virtlogd -d && libvirtd -d`)? \
                check --connect or libvirt_uri in the definition
                """
        case .alreadyRunning(let name, let uri, let pid):
            let process = pid.map { " (QEMU pid \($0))" } ?? ""
            return "\(name) is already running under libvirt at \(uri)\(process); `vm status \(name)` shows it, `vm down \(name)` stops it"
        case .definedWithOtherContent(let name, let uri, let running):
            let fix = running
                ? "it is running: stop it with `vm down \(name)`, then `vm up \(name) --redefine` replaces the definition"
                : "`vm up \(name) --redefine` replaces it with the current definition (same UUID)"
            return "libvirt at \(uri) already has a domain '\(name)' that was not defined from this definition; \(fix)"
        }
    }
}

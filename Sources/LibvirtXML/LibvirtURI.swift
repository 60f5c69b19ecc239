/// The parts of a libvirt connection URI `vm` cares about: `driver[+transport]://[user@][host][:port]/path[?query]`.
public struct LibvirtURI: Sendable, Equatable {
    /// `qemu`, `test`, ...
    public let driver: String
    /// `ssh`, `tls`, `tcp`, `unix`, `libssh2`, ...; nil when the URI names none.
    public let transport: String?
    /// The remote host; empty for the local daemon.
    public let host: String
    /// `/system`, `/session`, `/default`, ...
    public let path: String

    /// Splits `text`; a string that is not a URI has an empty driver and counts as local.
    public init(_ text: String) {
        guard let separator = text.firstRange(of: "://") else {
            driver = ""; transport = nil; host = ""; path = text
            return
        }
        let scheme = text[..<separator.lowerBound]
        let schemeParts = scheme.split(separator: "+", maxSplits: 1)
        driver = schemeParts.first.map(String.init) ?? ""
        transport = schemeParts.count > 1 ? String(schemeParts[1]) : nil
        var rest = text[separator.upperBound...]
        if let query = rest.firstIndex(of: "?") { rest = rest[..<query] }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<slash]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[authority.index(after: authority.startIndex)..<close])
        } else {
            host = String(authority.split(separator: ":", maxSplits: 1).first ?? "")
        }
        path = String(rest[slash...])
    }

    /// The daemon runs on this machine: no host, and no network transport.
    public var isLocal: Bool {
        host.isEmpty && (transport == nil || transport == "unix")
    }

    /// Where the local QEMU driver keeps the pidfile of a running domain: `/run/libvirt/qemu/NAME.pid`
    /// for `qemu:///system`, `$XDG_RUNTIME_DIR/libvirt/qemu/run/NAME.pid` for `qemu:///session`;
    /// nil for other drivers and remote hosts.
    public func qemuPidFile(domain: String, runtimeDirectory: String?) -> String? {
        guard isLocal, driver == "qemu" else { return nil }
        switch path {
        case "/system": return "/run/libvirt/qemu/\(domain).pid"
        case "/session": return runtimeDirectory.map { "\($0)/libvirt/qemu/run/\(domain).pid" }
        default: return nil
        }
    }
}

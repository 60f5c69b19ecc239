import Commands
import GuestAgent
import HostLinux
import Libvirt
import Sessions
import VMCore

/// The libvirt backend of the command tree, backed by the libvirt C library that `vm-libvirt`
/// links (`vm` hands libvirt-backed commands over to `vm-libvirt`; see ``LibvirtLink``).
public struct LinkedLibvirt: LibvirtBackendProvider {
    public init() {}

    public func machine(_ loaded: LoadedDefinition, uri: String, redefine: Bool, hostFileSystem: any HostFileSystem,
                        passthroughProblems: @escaping @Sendable (VMSpec) -> [String]) -> any SessionBackend {
        LibvirtMachine(spec: loaded.spec, paths: loaded.paths, uri: uri, redefine: redefine, hostFileSystem: hostFileSystem,
                       passthroughProblems: passthroughProblems)
    }

    public func guestAgent(uri: String, domain: String) -> any GuestAgentChannel {
        LibvirtGuestAgent(uri: uri, domain: domain)
    }

    public func isActive(uri: String, domain: String) -> Bool {
        (try? LibvirtMachine.domain(named: domain, uri: uri).isActive()) ?? false
    }

    public func monitorCommand(uri: String, domain: String, json: String) throws -> String {
        try qemuMonitorCommand(uri: uri, domain: domain, json: json)
    }

    public func control(_ action: RunAction, uri: String, domain name: String) throws {
        let domain = try LibvirtMachine.domain(named: name, uri: uri)
        switch action {
        case .pause: try domain.suspend()
        case .resume: try domain.resume()
        case .reboot: try domain.reset()
        }
    }

    public func undefine(uri: String, domain name: String) throws {
        try LibvirtMachine.undefine(named: name, uri: uri)
    }
}

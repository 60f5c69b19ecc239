import CLibvirt
import LibvirtXML

/// An open connection to a libvirt daemon (or libvirt's built-in `test:///default` driver).
///
/// `@unchecked Sendable`: a `virConnectPtr` is reference-counted and locked inside libvirt, which
/// documents its public API as thread-safe; the only per-thread state is the last error, which
/// every wrapper reads synchronously right after the failing call. The pointer is immutable and
/// closed exactly once, in `deinit`.
public final class LibvirtConnection: @unchecked Sendable {
    let pointer: virConnectPtr
    /// The URI this connection was opened with.
    public let uri: String

    /// Opens a read-write connection: `qemu:///system`, `qemu+ssh://user@host/system` (keys or
    /// an ssh agent; no password prompt), `test:///default`, ...
    public init(uri: String) throws(LibvirtError) {
        LibvirtLibrary.initialized
        guard let pointer = virConnectOpen(uri) else { throw LibvirtError.last("virConnectOpen(\(uri))") }
        self.pointer = pointer
        self.uri = uri
    }

    deinit {
        virConnectClose(pointer)
    }

    /// The domain with this name; throws libvirt's "domain not found" error (``LibvirtError/isNoDomain``).
    public func domain(named name: String) throws(LibvirtError) -> LibvirtDomain {
        guard let domain = virDomainLookupByName(pointer, name) else {
            throw LibvirtError.last("virDomainLookupByName(\(name))")
        }
        return LibvirtDomain(connection: self, pointer: domain)
    }

    /// The domain with this name, or nil when libvirt has none.
    public func domainIfDefined(named name: String) throws(LibvirtError) -> LibvirtDomain? {
        do {
            return try domain(named: name)
        } catch where error.isNoDomain {
            return nil
        }
    }

    /// Every domain: running or not, persistent or transient.
    public func listDomains() throws(LibvirtError) -> [LibvirtDomain] {
        var list: UnsafeMutablePointer<virDomainPtr?>?
        let count = virConnectListAllDomains(pointer, &list, 0)
        guard count >= 0 else { throw LibvirtError.last("virConnectListAllDomains") }
        defer { freeLibvirtMemory(list) }
        guard let list else { return [] }
        return (0..<Int(count)).compactMap { index in
            list[index].map { LibvirtDomain(connection: self, pointer: $0) }
        }
    }
}

extension LibvirtConnection {
    /// The hypervisor's version as `major.minor.micro` (for the QEMU driver, QEMU's version).
    public func hypervisorVersion() throws(LibvirtError) -> String {
        var version: UInt = 0
        guard virConnectGetVersion(pointer, &version) == 0 else { throw LibvirtError.last("virConnectGetVersion") }
        return "\(version / 1_000_000).\(version / 1000 % 1000).\(version % 1000)"
    }

    /// Why the host behind this connection cannot run `machine` guests under KVM, per libvirt's
    /// domain capabilities; nil when it can, or when the driver cannot tell (the test driver).
    public func kvmUnavailableReason(machine: String) -> String? {
        guard let xml = takeString(virConnectGetDomainCapabilities(pointer, nil, "x86_64", machine, "kvm", 0)) else {
            let error = LibvirtError.last("virConnectGetDomainCapabilities")
            if case .api(_, let code, _, let message) = error {
                return code == Int32(VIR_ERR_NO_SUPPORT.rawValue) ? nil : message
            }
            return error.description
        }
        return xml.contains("<domain>kvm</domain>") ? nil : "libvirt does not offer KVM on this host"
    }

    /// Whether the daemon runs on this machine (no host in the URI), so its files and processes
    /// are ours to read.
    public var isLocal: Bool { LibvirtURI(uri).isLocal }
}

import CLibvirt

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

import CLibvirt
import LibvirtXML
import VMCore

extension LibvirtConnection {
    /// What ``define(name:xml:replacing:)`` did.
    public enum DefineOutcome: Sendable, Equatable {
        /// No domain had the name; it was defined.
        case created
        /// A domain with the name was defined from exactly this XML before; left as it is.
        case unchanged
        /// A domain with the name and other content existed; its definition was replaced
        /// (keeping its UUID).
        case replaced
    }

    /// Defines (persists) a domain from `xml`, whose `<name>` must be `name`.
    ///
    /// A domain of that name that was defined from the same XML is left alone (`.unchanged`).
    /// One with other content (or not defined by `vm` at all) is an error,
    /// ``LibvirtError/definedWithOtherContent(name:)``, unless `replacing` is true. libvirt
    /// validates the XML against its schema (`VIR_DOMAIN_DEFINE_VALIDATE`).
    @discardableResult
    public func define(name: String, xml: String, replacing: Bool = false)
        throws(LibvirtError) -> (domain: LibvirtDomain, outcome: DefineOutcome)
    {
        let fingerprint = DomainFingerprint(xml: xml)
        var document = xml
        var outcome = DefineOutcome.created
        if let existing = try domainIfDefined(named: name) {
            let persistent = try existing.isPersistent()
            if persistent, try existing.fingerprint() == fingerprint.description {
                return (existing, .unchanged)
            }
            guard replacing else { throw .definedWithOtherContent(name: name) }
            document = Self.insertingUUID(try existing.uuid(), into: xml)
            outcome = .replaced
        }
        guard let pointer = virDomainDefineXMLFlags(self.pointer, document, VIR_DOMAIN_DEFINE_VALIDATE.rawValue) else {
            throw LibvirtError.last("virDomainDefineXMLFlags(\(name))")
        }
        let domain = LibvirtDomain(connection: self, pointer: pointer)
        try domain.setFingerprint(fingerprint)
        return (domain, outcome)
    }

    /// `xml` with `<uuid>` right after the domain's `</name>`, unless it has a UUID already.
    /// libvirt refuses to redefine a name under a new (random) UUID.
    static func insertingUUID(_ uuid: String, into xml: String) -> String {
        guard !xml.contains("<uuid>"), let end = xml.firstRange(of: "</name>") else { return xml }
        var result = xml
        result.insert(contentsOf: "<uuid>\(uuid)</uuid>", at: end.upperBound)
        return result
    }
}

extension LibvirtDomain {
    /// The domain's UUID, `xxxxxxxx-xxxx-...`.
    public func uuid() throws(LibvirtError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
        guard virDomainGetUUIDString(pointer, &buffer) == 0 else {
            throw LibvirtError.last("virDomainGetUUIDString(\(name))")
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The fingerprint `vm` stored in the persistent definition, or nil when there is none.
    func fingerprint() throws(LibvirtError) -> String? {
        let pointer = virDomainGetMetadata(self.pointer, Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue),
                                           DomainFingerprint.namespace, VIR_DOMAIN_AFFECT_CONFIG.rawValue)
        guard let metadata = takeString(pointer) else {
            let error = LibvirtError.last("virDomainGetMetadata(\(name))")
            if case .api(_, let code, _, _) = error, code == Int32(VIR_ERR_NO_DOMAIN_METADATA.rawValue) {
                return nil
            }
            throw error
        }
        return DomainFingerprint.parse(metadata: metadata)
    }

    func setFingerprint(_ fingerprint: DomainFingerprint) throws(LibvirtError) {
        guard virDomainSetMetadata(pointer, Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue), fingerprint.metadataElement,
                                   DomainFingerprint.prefix, DomainFingerprint.namespace,
                                   VIR_DOMAIN_AFFECT_CONFIG.rawValue) == 0
        else { throw LibvirtError.last("virDomainSetMetadata(\(name))") }
    }
}

extension LibvirtConnection {
    /// Defines the domain for a resolved definition (see ``DomainXMLBuilder``), with the same
    /// "unchanged / other content / replaced" rules as ``define(name:xml:replacing:)``. The serial
    /// console is logged into `paths` only when the daemon is local (``isLocal``).
    @discardableResult
    public func define(spec: VMSpec, paths: VMPaths, replacing: Bool = false)
        throws -> (domain: LibvirtDomain, outcome: DefineOutcome)
    {
        let xml = try DomainXMLBuilder(spec: spec, paths: paths, logsSerialConsole: isLocal).domainXML()
        return try define(name: spec.name.rawValue, xml: xml, replacing: replacing)
    }
}

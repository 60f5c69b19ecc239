import VMCore

/// A short, stable digest of the domain XML `vm` defined (64-bit FNV-1a, hex). It is stored in
/// the domain's `<metadata>` so a later define can tell "same definition" from "other content"
/// without comparing libvirt's normalised XML (which adds UUIDs, addresses and defaults).
/// Not a security measure: it only detects changes.
package struct DomainFingerprint: Equatable, Sendable, CustomStringConvertible {
    private let digest: DefinitionFingerprint

    package init(xml: String) {
        digest = DefinitionFingerprint(text: xml)
    }

    package var value: UInt64 { digest.value }

    package var description: String { digest.description }

    /// The XML namespace of `vm`'s metadata element, and its prefix.
    package static let namespace = "urn:x-vm:definition:1"
    package static let prefix = "vm"

    /// The `<metadata>` element body.
    package var metadataElement: String { "<definition fingerprint='\(self)'/>" }

    /// The fingerprint stored in a metadata element returned by libvirt, if any.
    package static func parse(metadata: String) -> String? {
        guard let start = metadata.firstRange(of: "fingerprint=") else { return nil }
        let rest = metadata[start.upperBound...].dropFirst()
        let digits = rest.prefix { $0.isHexDigit }
        return digits.count == 16 ? String(digits) : nil
    }
}

/// A short, stable digest of the domain XML `vm` defined (64-bit FNV-1a, hex). It is stored in
/// the domain's `<metadata>` so a later define can tell "same definition" from "other content"
/// without comparing libvirt's normalised XML (which adds UUIDs, addresses and defaults).
/// Not a security measure: it only detects changes.
package struct DomainFingerprint: Equatable, Sendable, CustomStringConvertible {
    package let value: UInt64

    package init(xml: String) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in xml.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        value = hash
    }

    package var description: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

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

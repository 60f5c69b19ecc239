/// An Ethernet MAC address, written `52:54:00:ab:cd:ef`.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// Parses six colon-separated hex bytes; nil when malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard part.count == 2, let byte = UInt8(part, radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.bytes = bytes
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    /// A stable, locally administered address in QEMU's `52:54:00` range derived from the VM name
    /// (FNV-1a), so the guest keeps its DHCP lease across runs.
    public static func derived(from name: VMName) -> MACAddress {
        var hash: UInt32 = 2_166_136_261
        for byte in name.rawValue.utf8 {
            hash = (hash ^ UInt32(byte)) &* 16_777_619
        }
        return MACAddress(bytes: [0x52, 0x54, 0x00, UInt8(truncatingIfNeeded: hash >> 16),
                                  UInt8(truncatingIfNeeded: hash >> 8), UInt8(truncatingIfNeeded: hash)])
    }

    /// A multicast address (low bit of the first byte) cannot be a NIC's address.
    public var isMulticast: Bool { bytes[0] & 1 == 1 }

    public var description: String { bytes.map { hex($0, width: 2) }.joined(separator: ":") }
}

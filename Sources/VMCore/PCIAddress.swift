/// A PCI function address in sysfs form: `DDDD:BB:SS.F` (domain, bus, slot, function), lower-case hex.
public struct PCIAddress: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public let domain: UInt16
    public let bus: UInt8
    public let slot: UInt8
    public let function: UInt8

    public init(domain: UInt16 = 0, bus: UInt8, slot: UInt8, function: UInt8) {
        precondition(slot < 32 && function < 8, "PCI slot must be < 32 and function < 8")
        self.domain = domain
        self.bus = bus
        self.slot = slot
        self.function = function
    }

    /// Parses `0000:05:00.1` or the short form `05:00.1` (domain 0). Returns nil when malformed.
    public init?(_ text: String) {
        guard let dot = text.lastIndex(of: ".") else { return nil }
        guard let slot = PCISlot(String(text[..<dot])),
              let function = UInt8(text[text.index(after: dot)...], radix: 16),
              text[text.index(after: dot)...].count == 1, function < 8
        else { return nil }
        self.init(domain: slot.domain, bus: slot.bus, slot: slot.slot, function: function)
    }

    /// The slot (device) this function belongs to.
    public var pciSlot: PCISlot { PCISlot(domain: domain, bus: bus, slot: slot) }

    /// `0000:05:00.1`
    public var description: String { "\(pciSlot).\(String(function, radix: 16))" }

    public static func < (lhs: PCIAddress, rhs: PCIAddress) -> Bool {
        (lhs.domain, lhs.bus, lhs.slot, lhs.function) < (rhs.domain, rhs.bus, rhs.slot, rhs.function)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = PCIAddress(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a PCI address: \(text)"))
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A PCI slot (all functions of one device): `DDDD:BB:SS`.
public struct PCISlot: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let domain: UInt16
    public let bus: UInt8
    public let slot: UInt8

    public init(domain: UInt16 = 0, bus: UInt8, slot: UInt8) {
        precondition(slot < 32, "PCI slot must be < 32")
        self.domain = domain
        self.bus = bus
        self.slot = slot
    }

    /// Parses `0000:05:00` or `05:00`. Returns nil when malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let domainText: Substring, busText: Substring, slotText: Substring
        switch parts.count {
        case 3: (domainText, busText, slotText) = (parts[0], parts[1], parts[2])
        case 2: (domainText, busText, slotText) = ("0000", parts[0], parts[1])
        default: return nil
        }
        guard domainText.count == 4, busText.count == 2, slotText.count == 2,
              let domain = UInt16(domainText, radix: 16), let bus = UInt8(busText, radix: 16),
              let slot = UInt8(slotText, radix: 16), slot < 32
        else { return nil }
        self.init(domain: domain, bus: bus, slot: slot)
    }

    /// The function `function` of this slot.
    public func function(_ function: UInt8) -> PCIAddress {
        PCIAddress(domain: domain, bus: bus, slot: slot, function: function)
    }

    /// `0000:05:00`
    public var description: String {
        hex(domain, width: 4) + ":" + hex(bus, width: 2) + ":" + hex(slot, width: 2)
    }

    public static func < (lhs: PCISlot, rhs: PCISlot) -> Bool {
        (lhs.domain, lhs.bus, lhs.slot) < (rhs.domain, rhs.bus, rhs.slot)
    }
}

/// Lower-case hex, zero-padded to `width` digits.
func hex<T: BinaryInteger>(_ value: T, width: Int) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

import VMCore

/// One PCI function as sysfs describes it.
public struct PCIDevice: Sendable, Hashable, Codable {
    public var address: PCIAddress
    public var vendorID: UInt16
    public var deviceID: UInt16
    public var subsystemVendorID: UInt16?
    public var subsystemDeviceID: UInt16?
    /// The 24-bit class code (`0x030000` VGA, `0x040300` HD audio, `0x060400` PCI bridge, ...).
    public var classCode: UInt32
    /// The bound driver's name (basename of the `driver` symlink), nil when unbound.
    public var driver: String?
    /// The `driver_override` value, nil when unset (`(null)`).
    public var driverOverride: String?
    /// The IOMMU group number, nil when the IOMMU is off.
    public var iommuGroup: Int?
    /// The `boot_vga` flag (display devices only), nil when absent.
    public var bootVGA: Bool?

    public init(address: PCIAddress, vendorID: UInt16, deviceID: UInt16, subsystemVendorID: UInt16? = nil,
                subsystemDeviceID: UInt16? = nil, classCode: UInt32, driver: String? = nil,
                driverOverride: String? = nil, iommuGroup: Int? = nil, bootVGA: Bool? = nil) {
        self.address = address
        self.vendorID = vendorID
        self.deviceID = deviceID
        self.subsystemVendorID = subsystemVendorID
        self.subsystemDeviceID = subsystemDeviceID
        self.classCode = classCode
        self.driver = driver
        self.driverOverride = driverOverride
        self.iommuGroup = iommuGroup
        self.bootVGA = bootVGA
    }

    /// `vendor:device` in lower-case hex, as `vfio-pci.ids` and `lspci -n` write it.
    public var ids: PCIIDPair { PCIIDPair(vendor: vendorID, device: deviceID) }

    /// The base class byte (`0x03` display, `0x06` bridge, ...).
    public var baseClass: UInt8 { UInt8(truncatingIfNeeded: classCode >> 16) }

    /// Display controllers (class 0x03xxxx).
    public var isDisplay: Bool { baseClass == 0x03 }

    /// PCI-to-PCI bridges (class 0x0604xx): they may share a group without breaking VFIO viability.
    public var isPCIBridge: Bool { classCode >> 8 == 0x0604 }
    /// A USB host controller (class 0x0c03: UHCI, OHCI, EHCI, xHCI).
    public var isUSBController: Bool { classCode >> 8 == 0x0c03 }

    private enum CodingKeys: String, CodingKey {
        case address, vendor, device, subsystemVendor, subsystemDevice, classCode = "class", driver, driverOverride, iommuGroup, bootVGA
    }

    /// JSON with ids as lower-case hex the way sysfs and lspci show them: `"vendor": "10de"`, `"class": "0x030000"`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(address, forKey: .address)
        try container.encode(hex4(vendorID), forKey: .vendor)
        try container.encode(hex4(deviceID), forKey: .device)
        try container.encodeIfPresent(subsystemVendorID.map(hex4), forKey: .subsystemVendor)
        try container.encodeIfPresent(subsystemDeviceID.map(hex4), forKey: .subsystemDevice)
        try container.encode(hexClass(classCode), forKey: .classCode)
        try container.encodeIfPresent(driver, forKey: .driver)
        try container.encodeIfPresent(driverOverride, forKey: .driverOverride)
        try container.encodeIfPresent(iommuGroup, forKey: .iommuGroup)
        try container.encodeIfPresent(bootVGA, forKey: .bootVGA)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func hex(_ key: CodingKeys) throws -> UInt32? {
            guard let text = try container.decodeIfPresent(String.self, forKey: key) else { return nil }
            guard let value = parseSysfsHex(text) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "not hex: \(text)")
            }
            return value
        }
        func required(_ key: CodingKeys) throws -> UInt32 {
            guard let value = try hex(key) else {
                throw DecodingError.keyNotFound(key, .init(codingPath: decoder.codingPath, debugDescription: "missing \(key.rawValue)"))
            }
            return value
        }
        self.init(address: try container.decode(PCIAddress.self, forKey: .address),
                  vendorID: UInt16(truncatingIfNeeded: try required(.vendor)),
                  deviceID: UInt16(truncatingIfNeeded: try required(.device)),
                  subsystemVendorID: try hex(.subsystemVendor).map { UInt16(truncatingIfNeeded: $0) },
                  subsystemDeviceID: try hex(.subsystemDevice).map { UInt16(truncatingIfNeeded: $0) },
                  classCode: try required(.classCode),
                  driver: try container.decodeIfPresent(String.self, forKey: .driver),
                  driverOverride: try container.decodeIfPresent(String.self, forKey: .driverOverride),
                  iommuGroup: try container.decodeIfPresent(Int.self, forKey: .iommuGroup),
                  bootVGA: try container.decodeIfPresent(Bool.self, forKey: .bootVGA))
    }
}

/// A `vendor:device` pair.
public struct PCIIDPair: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var vendor: UInt16
    public var device: UInt16

    public init(vendor: UInt16, device: UInt16) {
        self.vendor = vendor
        self.device = device
    }

    /// `10de:2203`
    public var description: String { hex4(vendor) + ":" + hex4(device) }

    public static func < (lhs: PCIIDPair, rhs: PCIIDPair) -> Bool {
        (lhs.vendor, lhs.device) < (rhs.vendor, rhs.device)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        let parts = text.split(separator: ":")
        guard parts.count == 2, let vendor = UInt16(parts[0], radix: 16), let device = UInt16(parts[1], radix: 16) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not vendor:device: \(text)"))
        }
        self.init(vendor: vendor, device: device)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Four lower-case hex digits.
func hex4(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}

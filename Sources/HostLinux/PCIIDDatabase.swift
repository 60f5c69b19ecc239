/// Vendor and device names from `pci.ids` (pciutils / hwdata).
public struct PCIIDDatabase: Sendable {
    /// Where distributions install `pci.ids`.
    public static let locations = ["/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids", "/usr/share/pci.ids"]

    public private(set) var vendors: [UInt16: String] = [:]
    public private(set) var devices: [PCIIDPair: String] = [:]

    public init() {}

    /// The vendor's name, or nil.
    public func vendorName(_ vendor: UInt16) -> String? { vendors[vendor] }

    /// The device's name, or nil.
    public func deviceName(_ ids: PCIIDPair) -> String? { devices[ids] }

    /// Parses `pci.ids` text; with `onlyVendors`, keeps just those vendors' entries (faster, smaller).
    public static func parse(_ text: String, onlyVendors: Set<UInt16>? = nil) -> PCIIDDatabase {
        var database = PCIIDDatabase()
        var currentVendor: UInt16?
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let first = line.first, first != "#" else { continue }
            if first == "C" && line.hasPrefix("C ") { break } // the class section follows the vendors
            if first == "\t" {
                guard let vendor = currentVendor, !line.hasPrefix("\t\t") else { continue }
                if let (id, name) = idAndName(line.dropFirst()) {
                    database.devices[PCIIDPair(vendor: vendor, device: id)] = name
                }
            } else if let (id, name) = idAndName(line[...]) {
                if let only = onlyVendors, !only.contains(id) {
                    currentVendor = nil
                } else {
                    currentVendor = id
                    database.vendors[id] = name
                }
            } else {
                currentVendor = nil
            }
        }
        return database
    }

    /// Reads the first installed `pci.ids`; an empty database when none is installed.
    public static func load(_ fileSystem: any HostFileSystem, onlyVendors: Set<UInt16>? = nil) -> PCIIDDatabase {
        for location in locations {
            if let text = fileSystem.readTextIfPresent(location) { return parse(text, onlyVendors: onlyVendors) }
        }
        return PCIIDDatabase()
    }

    /// `10de  NVIDIA Corporation` -> (0x10de, "NVIDIA Corporation").
    private static func idAndName(_ line: Substring) -> (UInt16, String)? {
        let idText = line.prefix(4)
        guard idText.count == 4, let id = UInt16(idText, radix: 16) else { return nil }
        let name = line.dropFirst(4).drop(while: { $0 == " " || $0 == "\t" })
        guard !name.isEmpty, line.dropFirst(4).first == " " else { return nil }
        return (id, String(name))
    }
}

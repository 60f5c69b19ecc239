import FoundationEssentials
import Glibc
import VMCore

/// Reads PCI functions from `/sys/bus/pci/devices`.
public struct PCIDeviceReader: Sendable {
    /// Where sysfs lists PCI functions.
    public static let devicesDirectory = "/sys/bus/pci/devices"

    public let fileSystem: any HostFileSystem

    public init(fileSystem: any HostFileSystem) {
        self.fileSystem = fileSystem
    }

    /// The sysfs directory of one function.
    public static func directory(of address: PCIAddress) -> String {
        devicesDirectory + "/" + address.description
    }

    /// Every PCI function, sorted by address (empty when sysfs has none).
    public func allDevices() throws -> [PCIDevice] {
        guard fileSystem.exists(Self.devicesDirectory) else { return [] }
        return try fileSystem.contentsOfDirectory(Self.devicesDirectory)
            .compactMap(PCIAddress.init)
            .map(device(at:))
            .sorted { $0.address < $1.address }
    }

    /// The functions of one slot, sorted by function number.
    public func functions(of slot: PCISlot) throws -> [PCIDevice] {
        guard fileSystem.exists(Self.devicesDirectory) else { return [] }
        return try fileSystem.contentsOfDirectory(Self.devicesDirectory)
            .compactMap(PCIAddress.init)
            .filter { $0.pciSlot == slot }
            .sorted()
            .map(device(at:))
    }

    /// One function.
    public func device(at address: PCIAddress) throws -> PCIDevice {
        let dir = Self.directory(of: address)
        func hexAttribute(_ name: String) throws -> UInt32 {
            let path = dir + "/" + name
            let text = try fileSystem.readTrimmed(path)
            guard let value = parseSysfsHex(text) else { throw HostError.malformed(path: path, detail: "not hex: \(text)") }
            return value
        }
        func optionalHex(_ name: String) -> UInt16? {
            (try? fileSystem.readTrimmed(dir + "/" + name)).flatMap(parseSysfsHex).map { UInt16(truncatingIfNeeded: $0) }
        }
        return PCIDevice(
            address: address,
            vendorID: UInt16(truncatingIfNeeded: try hexAttribute("vendor")),
            deviceID: UInt16(truncatingIfNeeded: try hexAttribute("device")),
            subsystemVendorID: optionalHex("subsystem_vendor"),
            subsystemDeviceID: optionalHex("subsystem_device"),
            classCode: try hexAttribute("class"),
            driver: fileSystem.linkBasename(dir + "/driver"),
            driverOverride: (try? fileSystem.readTrimmed(dir + "/driver_override")).flatMap(parseDriverOverride),
            iommuGroup: fileSystem.linkBasename(dir + "/iommu_group").flatMap { Int($0) },
            bootVGA: (try? fileSystem.readTrimmed(dir + "/boot_vga")).map { $0 == "1" }
        )
    }
}

/// Parses sysfs hex such as `0x10de` or `0x030000`.
public func parseSysfsHex(_ text: String) -> UInt32? {
    let trimmed = text.trimmingWhitespace()
    let digits = trimmed.hasPrefix("0x") || trimmed.hasPrefix("0X") ? trimmed.dropFirst(2) : Substring(trimmed)
    return UInt32(digits, radix: 16)
}

/// Parses a `driver_override` value: `(null)` or empty means unset.
public func parseDriverOverride(_ text: String) -> String? {
    let trimmed = text.trimmingWhitespace()
    return trimmed.isEmpty || trimmed == "(null)" ? nil : trimmed
}

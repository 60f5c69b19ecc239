import FoundationEssentials
import Glibc
import VMCore

/// A host USB controller (PCI class 0x0c03) as `[[usb_host_controller]]` would take it: its IOMMU
/// group and what is plugged into it (which leaves the host with it).
public struct USBControllerEntry: Sendable, Equatable, Codable {
    /// A USB device plugged into the controller (directly or through hubs).
    public struct Peripheral: Sendable, Equatable, Codable {
        /// Its sysfs name, BUS-PORT (`3-1.2`).
        public var name: String
        /// `vendor:product` (`046d:c52b`).
        public var ids: String
        /// The product string the device reports, if any.
        public var product: String?
    }

    public var address: PCIAddress
    /// `vendor:device` of the controller.
    public var ids: String
    public var driver: String?
    public var iommuGroup: Int?
    /// Other endpoints in its IOMMU group (bridges left out): they would have to leave the host too.
    public var sharesGroupWith: [PCIAddress]
    public var peripherals: [Peripheral]

    /// Whether `vm up` can take it alone: it has an IOMMU group that holds no other endpoint.
    public var passableAlone: Bool { iommuGroup != nil && sharesGroupWith.isEmpty }
}

/// Lists the host's USB controllers under a ``HostFileSystem`` (sysfs).
public struct USBControllerReader: Sendable {
    public let fileSystem: any HostFileSystem

    public init(fileSystem: any HostFileSystem) {
        self.fileSystem = fileSystem
    }

    /// Hubs nest at most 5 deep below a root port (USB 2.0, 4.1.1): deeper folders are not looked at.
    static let maximumHubDepth = 7

    /// Every USB controller, sorted by address.
    public func controllers() throws -> [USBControllerEntry] {
        let reader = PCIDeviceReader(fileSystem: fileSystem)
        let groups = IOMMUGroupReader(fileSystem: fileSystem)
        return try reader.allDevices().filter(\.isUSBController).map { device in
            var others: [PCIAddress] = []
            if let number = device.iommuGroup, let group = try? groups.group(number) {
                others = group.members.filter { $0 != device.address }.compactMap { try? reader.device(at: $0) }
                    .filter { !$0.isPCIBridge }.map(\.address).sorted()
            }
            return USBControllerEntry(address: device.address, ids: device.ids.description, driver: device.driver,
                                      iommuGroup: device.iommuGroup, sharesGroupWith: others,
                                      peripherals: peripherals(under: PCIDeviceReader.directory(of: device.address)))
        }
    }

    /// The USB devices below a controller's folder: its root hubs (`usbN`), then devices named
    /// BUS-PORT (`3-1`, `3-1.4`) at any depth; root hubs themselves are left out.
    func peripherals(under directory: String) -> [USBControllerEntry.Peripheral] {
        var found: [USBControllerEntry.Peripheral] = []
        func walk(_ folder: String, depth: Int) {
            guard depth <= Self.maximumHubDepth, let entries = try? fileSystem.contentsOfDirectory(folder) else { return }
            for entry in entries.sorted() {
                let path = folder + "/" + entry
                if depth == 0 {
                    if entry.hasPrefix("usb"), Int(entry.dropFirst(3)) != nil { walk(path, depth: 1) }
                } else if Self.isDeviceName(entry) {
                    if let vendor = try? fileSystem.readTrimmed(path + "/idVendor"), let product = try? fileSystem.readTrimmed(path + "/idProduct") {
                        let name = try? fileSystem.readTrimmed(path + "/product")
                        found.append(.init(name: entry, ids: "\(vendor):\(product)", product: name?.isEmpty == false ? name : nil))
                    }
                    walk(path, depth: depth + 1)
                }
            }
        }
        walk(directory, depth: 0)
        return found
    }

    /// A USB device's sysfs name: BUS-PORT with dotted hub ports (`3-1.4`), not an interface (`3-1:1.0`).
    static func isDeviceName(_ name: String) -> Bool {
        let parts = name.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, Int(parts[0]) != nil else { return false }
        return parts[1].split(separator: ".", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && Int($0) != nil }
    }
}

import VMCore

/// One GPU slot as `vm gpu list` shows it.
public struct GPUEntry: Sendable, Hashable, Codable {
    /// One function of the slot, with names from pci.ids when installed.
    public struct Function: Sendable, Hashable, Codable {
        public var device: PCIDevice
        public var vendorName: String?
        public var deviceName: String?
    }

    /// The IOMMU group of the slot, every member and the verdict.
    public struct Group: Sendable, Hashable, Codable {
        public var number: Int
        public var members: [Function]
        public var viability: GroupViability
    }

    public var slot: String
    public var functions: [Function]
    /// nil when the IOMMU is off.
    public var group: Group?
    /// Other GPU slots with the same vendor:device display function.
    public var identicalTo: [String]
}

/// Builds the GPU list from every PCI function and IOMMU group. Pure.
public enum GPUInventory {
    /// Every slot with a display-class function, sorted by slot.
    public static func entries(devices: [PCIDevice], groups: [IOMMUGroup], names: PCIIDDatabase) -> [GPUEntry] {
        let byAddress = Dictionary(uniqueKeysWithValues: devices.map { ($0.address, $0) })
        let displaySlots = Set(devices.filter(\.isDisplay).map(\.address.pciSlot)).sorted()
        func function(_ device: PCIDevice) -> GPUEntry.Function {
            GPUEntry.Function(device: device, vendorName: names.vendorName(device.vendorID), deviceName: names.deviceName(device.ids))
        }
        func displayIDs(_ slot: PCISlot) -> Set<PCIIDPair> {
            Set(devices.filter { $0.address.pciSlot == slot && $0.isDisplay }.map(\.ids))
        }
        return displaySlots.map { slot in
            let functions = devices.filter { $0.address.pciSlot == slot }
            var group: GPUEntry.Group?
            if let number = functions.compactMap(\.iommuGroup).first,
               let iommuGroup = groups.first(where: { $0.number == number }) {
                let members = iommuGroup.members.compactMap { byAddress[$0] }
                group = GPUEntry.Group(number: number, members: members.map(function),
                                       viability: GroupViability.evaluate(members: members, for: slot))
            }
            let ids = displayIDs(slot)
            let identical = displaySlots.filter { $0 != slot && !displayIDs($0).isDisjoint(with: ids) }
            return GPUEntry(slot: slot.description, functions: functions.map(function), group: group,
                            identicalTo: identical.map(\.description))
        }
    }

    /// Reads the host and builds the list.
    public static func read(_ fileSystem: any HostFileSystem) throws -> [GPUEntry] {
        let devices = try PCIDeviceReader(fileSystem: fileSystem).allDevices()
        let groups = try IOMMUGroupReader(fileSystem: fileSystem).allGroups()
        let names = PCIIDDatabase.load(fileSystem, onlyVendors: Set(devices.map(\.vendorID)))
        return entries(devices: devices, groups: groups, names: names)
    }
}

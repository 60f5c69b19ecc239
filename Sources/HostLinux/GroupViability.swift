import VMCore

/// Whether an IOMMU group can be handed to VFIO, judged from its members' state. Pure.
public struct GroupViability: Sendable, Hashable, Codable {
    /// Every endpoint is bound to vfio-pci or has no driver (bridges do not count): QEMU can open the group now.
    public var viable: Bool
    /// Members that stop the group being viable now: endpoints bound to another driver.
    public var blockingMembers: [PCIAddress]
    /// Endpoints in the group that are not functions of the slot being passed through (bridges excluded).
    /// Non-empty means the slot cannot be passed alone: those devices would have to go to the guest too.
    public var foreignMembers: [PCIAddress]

    /// Judges `members` (every function of the group) for passing through the functions of `slot`.
    public static func evaluate(members: [PCIDevice], for slot: PCISlot?) -> GroupViability {
        let endpoints = members.filter { !$0.isPCIBridge }
        let blocking = endpoints.filter { $0.driver != nil && $0.driver != vfioDriverName }.map(\.address)
        let foreign = slot.map { slot in endpoints.filter { $0.address.pciSlot != slot }.map(\.address) } ?? []
        return GroupViability(viable: blocking.isEmpty, blockingMembers: blocking.sorted(), foreignMembers: foreign.sorted())
    }
}

/// The VFIO PCI driver's name in sysfs.
public let vfioDriverName = "vfio-pci"

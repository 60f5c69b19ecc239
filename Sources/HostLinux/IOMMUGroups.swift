import VMCore

/// One IOMMU group: the functions the IOMMU cannot isolate from each other.
public struct IOMMUGroup: Sendable, Hashable, Codable {
    public var number: Int
    public var members: [PCIAddress]

    public init(number: Int, members: [PCIAddress]) {
        self.number = number
        self.members = members.sorted()
    }
}

/// Reads `/sys/kernel/iommu_groups`.
public struct IOMMUGroupReader: Sendable {
    /// Where the kernel lists IOMMU groups (empty or absent when the IOMMU is off).
    public static let groupsDirectory = "/sys/kernel/iommu_groups"

    public let fileSystem: any HostFileSystem

    public init(fileSystem: any HostFileSystem) {
        self.fileSystem = fileSystem
    }

    /// One group's members.
    public func group(_ number: Int) throws -> IOMMUGroup {
        let names = try fileSystem.contentsOfDirectory("\(Self.groupsDirectory)/\(number)/devices")
        return IOMMUGroup(number: number, members: names.compactMap(PCIAddress.init))
    }

    /// Every group, by number.
    public func allGroups() throws -> [IOMMUGroup] {
        guard fileSystem.exists(Self.groupsDirectory) else { return [] }
        return try fileSystem.contentsOfDirectory(Self.groupsDirectory)
            .compactMap { Int($0) }
            .sorted()
            .map(group)
    }
}

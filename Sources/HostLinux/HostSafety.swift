import VMCore

/// The PCI devices the host must keep: the boot disk's controller, the NIC with the default route, display.
public struct HostEssentials: Sendable, Hashable, Codable {
    /// PCI functions behind the block device(s) that hold `/` (empty when unknown, e.g. a virtual root).
    public var bootDiskControllers: [PCIAddress]
    /// PCI functions behind the interface(s) carrying the default route.
    public var defaultRouteNICs: [PCIAddress]
    /// Names of the default-route interfaces.
    public var defaultRouteInterfaces: [String]

    public init(bootDiskControllers: [PCIAddress], defaultRouteNICs: [PCIAddress], defaultRouteInterfaces: [String]) {
        self.bootDiskControllers = bootDiskControllers
        self.defaultRouteNICs = defaultRouteNICs
        self.defaultRouteInterfaces = defaultRouteInterfaces
    }

    /// Reads `/proc/mounts`, `/sys/class/block`, `/proc/net/route` and `/sys/class/net` under the root.
    public static func read(_ fileSystem: any HostFileSystem) -> HostEssentials {
        let locator = PCIPathLocator(fileSystem: fileSystem)
        let rootDevice = fileSystem.readTextIfPresent("/proc/mounts").flatMap(Self.rootMountSource) ?? fileSystem.readTextIfPresent("/proc/self/mounts").flatMap(Self.rootMountSource)
        let disks = rootDevice.map { locator.blockDevicePCIFunctions(source: $0) } ?? []
        let interfaces = fileSystem.readTextIfPresent("/proc/net/route").map(Self.defaultRouteInterfaces) ?? []
        let nics = interfaces.flatMap { locator.networkInterfacePCIFunctions($0) }
        return HostEssentials(bootDiskControllers: Array(Set(disks)).sorted(), defaultRouteNICs: Array(Set(nics)).sorted(),
                              defaultRouteInterfaces: interfaces)
    }

    /// The source of the last mount on `/` in `/proc/mounts` text (`/dev/nvme0n1p2`).
    public static func rootMountSource(_ mounts: String) -> String? {
        var source: String?
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count >= 2 && fields[1] == "/" { source = String(fields[0]) }
        }
        return source
    }

    /// Interfaces with a default route (destination and mask 0) in `/proc/net/route` text.
    public static func defaultRouteInterfaces(_ route: String) -> [String] {
        var names: [String] = []
        for line in route.split(separator: "\n").dropFirst() {
            let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard fields.count >= 8, fields[1] == "00000000", fields[7] == "00000000" else { continue }
            if !names.contains(String(fields[0])) { names.append(String(fields[0])) }
        }
        return names
    }
}

/// Finds the PCI function behind a block device or network interface by resolving sysfs symlinks.
struct PCIPathLocator {
    let fileSystem: any HostFileSystem

    /// The last PCI-address component of the canonical sysfs path of `path` (`/sys/devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/...`).
    func pciFunction(behind path: String) -> PCIAddress? {
        guard let canonical = try? fileSystem.canonicalPath(path) else { return nil }
        return canonical.split(separator: "/").reversed().lazy.compactMap { PCIAddress(String($0)) }.first
    }

    /// PCI functions behind a mount source: `/dev/X` (through `/dev` symlinks such as `/dev/mapper/...`) and its dm/md slaves.
    func blockDevicePCIFunctions(source: String, depth: Int = 0) -> [PCIAddress] {
        guard source.hasPrefix("/dev/"), depth < 8 else { return [] }
        var name = String(source.split(separator: "/").last ?? "")
        if let target = try? fileSystem.readLink(source) { name = String(target.split(separator: "/").last ?? "") }
        return blockPCIFunctions(name: name, depth: depth)
    }

    private func blockPCIFunctions(name: String, depth: Int) -> [PCIAddress] {
        let base = "/sys/class/block/" + name
        guard depth < 8, fileSystem.exists(base) else { return [] }
        let slaves = (try? fileSystem.contentsOfDirectory(base + "/slaves")) ?? []
        if !slaves.isEmpty { return slaves.flatMap { blockPCIFunctions(name: $0, depth: depth + 1) } }
        return pciFunction(behind: base).map { [$0] } ?? []
    }

    /// PCI functions behind a network interface, following `lower_*` links of bridges, bonds and VLANs.
    func networkInterfacePCIFunctions(_ name: String, depth: Int = 0) -> [PCIAddress] {
        let base = "/sys/class/net/" + name
        guard depth < 8 else { return [] }
        if let address = pciFunction(behind: base + "/device") { return [address] }
        let lowers = ((try? fileSystem.contentsOfDirectory(base)) ?? []).filter { $0.hasPrefix("lower_") }
        return lowers.flatMap { networkInterfacePCIFunctions(String($0.dropFirst("lower_".count)), depth: depth + 1) }
    }
}

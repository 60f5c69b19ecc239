import HostLinux
import VMCore

/// Checks, before `vm up`, that every function plugged at boot is on vfio-pci and that its IOMMU
/// group can be handed to VFIO; each problem comes with the command that fixes it.
public struct BootPassthroughCheck: Sendable {
    public let fileSystem: any HostFileSystem
    /// The devices go to libvirt as managed `<hostdev>`s, which rebind them to vfio-pci
    /// themselves: only presence and IOMMU group viability are checked, not the current driver.
    public let driverSwitchedByLibvirt: Bool

    public init(fileSystem: any HostFileSystem, driverSwitchedByLibvirt: Bool = false) {
        self.fileSystem = fileSystem
        self.driverSwitchedByLibvirt = driverSwitchedByLibvirt
    }

    /// The problems for `spec`'s boot-plugged VFIO functions; empty when QEMU can open them all.
    public func problems(for spec: VMSpec) -> [String] {
        let devices = PCIDeviceReader(fileSystem: fileSystem)
        let groups = IOMMUGroupReader(fileSystem: fileSystem)
        var problems: [String] = []
        var checkedGroups = Set<Int>()
        for gpu in spec.gpus where gpu.plug == .boot && gpu.device == .vfioPCI {
            let slot = gpu.slot ?? gpu.functions[0].pciSlot
            for function in gpu.functions {
                guard let device = try? devices.device(at: function) else {
                    problems.append("\(function) is not present on this host; check the address with `vm gpu list`")
                    continue
                }
                if device.driver != vfioDriverName, !driverSwitchedByLibvirt {
                    let current = device.driver.map { "bound to \($0)" } ?? "not bound to any driver"
                    problems.append("\(function) [\(device.ids)] is \(current), not \(vfioDriverName); run `vm host bind \(slot) vfio-pci` now, or `vm host isolate \(slot) --apply` and reboot to keep it off the host driver")
                }
                guard let number = device.iommuGroup else {
                    problems.append("\(function) has no IOMMU group: the IOMMU is off; `vm host check` shows how to turn it on")
                    continue
                }
                guard checkedGroups.insert(number).inserted, let group = try? groups.group(number) else { continue }
                let members = group.members.compactMap { try? devices.device(at: $0) }
                let viability = GroupViability.evaluate(members: members, for: slot)
                let blockers = viability.blockingMembers.filter { !gpu.functions.contains($0) }
                if !blockers.isEmpty {
                    let named = blockers.map { address in
                        "\(address) (\(members.first { $0.address == address }?.driver ?? "?"))"
                    }
                    problems.append("IOMMU group \(number) is not viable: \(named.joined(separator: ", ")) share it and are bound to host drivers; bind them to \(vfioDriverName) too or move the card to another slot")
                }
            }
        }
        return problems
    }
}

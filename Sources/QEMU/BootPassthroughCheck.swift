import HostLinux
import VMCore

/// Checks, before `vm up`, that every function plugged at boot (GPU functions, USB controllers
/// passed whole) is on vfio-pci and that its IOMMU group can be handed to VFIO; each problem comes
/// with the command that fixes it.
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
                problems += groupProblems(of: device, passing: gpu.functions, slot: slot, devices: devices, groups: groups,
                                          checked: &checkedGroups, otherwise: "move the card to another slot")
            }
        }
        for controller in spec.usbHostControllers {
            guard let device = try? devices.device(at: controller.address) else {
                problems.append("\(controller.address) is not present on this host; `vm usb controllers` lists the USB controllers")
                continue
            }
            if device.driver != vfioDriverName, !driverSwitchedByLibvirt {
                problems.append("USB controller \(controller.address) is \(device.driver.map { "bound to \($0)" } ?? "not bound to any driver"), not \(vfioDriverName)")
            }
            problems += groupProblems(of: device, passing: [controller.address], slot: nil, devices: devices, groups: groups,
                                      checked: &checkedGroups, otherwise: "pass another USB controller")
        }
        return problems
    }

    /// Why the IOMMU group of `device` cannot go to VFIO with `passing` (no group, or other
    /// endpoints on host drivers), once per group; `otherwise` is the fix besides binding them too.
    private func groupProblems(of device: PCIDevice, passing: [PCIAddress], slot: PCISlot?, devices: PCIDeviceReader,
                               groups: IOMMUGroupReader, checked: inout Set<Int>, otherwise: String) -> [String] {
        guard let number = device.iommuGroup else {
            return ["\(device.address) has no IOMMU group: the IOMMU is off; `vm host check` shows how to turn it on"]
        }
        guard checked.insert(number).inserted, let group = try? groups.group(number) else { return [] }
        let members = group.members.compactMap { try? devices.device(at: $0) }
        let viability = GroupViability.evaluate(members: members, for: slot)
        let blockers = viability.blockingMembers.filter { !passing.contains($0) }
        guard !blockers.isEmpty else { return [] }
        let named = blockers.map { address in "\(address) (\(members.first { $0.address == address }?.driver ?? "?"))" }
        return ["IOMMU group \(number) is not viable: \(named.joined(separator: ", ")) share it and are bound to host drivers; bind them to \(vfioDriverName) too or \(otherwise)"]
    }
}

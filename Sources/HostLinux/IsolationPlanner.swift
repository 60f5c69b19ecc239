import FoundationEssentials
import Glibc
import VMCore

/// Everything the planner needs from the host, read once. ``IsolationPlanner`` turns it into a plan without I/O.
public struct IsolationInputs: Sendable, Hashable {
    public var slot: PCISlot
    public var devices: [PCIDevice]
    public var groups: [IOMMUGroup]
    public var cpuVendor: CPUVendor
    public var essentials: HostEssentials
    /// Current text of the files the plan may change, keyed by host path (absent: the file does not exist).
    public var files: [String: String]
    /// Permission bits of existing files, keyed by host path.
    public var modes: [String: UInt16]
    /// `/etc/initramfs-tools` exists.
    public var hasInitramfsTools: Bool

    public init(slot: PCISlot, devices: [PCIDevice], groups: [IOMMUGroup], cpuVendor: CPUVendor, essentials: HostEssentials,
                files: [String: String], modes: [String: UInt16] = [:], hasInitramfsTools: Bool) {
        self.slot = slot
        self.devices = devices
        self.groups = groups
        self.cpuVendor = cpuVendor
        self.essentials = essentials
        self.files = files
        self.modes = modes
        self.hasInitramfsTools = hasInitramfsTools
    }

    /// Reads the inputs for `slot` from the host.
    public static func read(_ fileSystem: any HostFileSystem, slot: PCISlot) throws -> IsolationInputs {
        var files: [String: String] = [:]
        var modes: [String: UInt16] = [:]
        for path in IsolationPaths.all {
            if let text = fileSystem.readTextIfPresent(path) {
                files[path] = text
                modes[path] = try? fileSystem.permissions(path)
            }
        }
        return IsolationInputs(
            slot: slot,
            devices: try PCIDeviceReader(fileSystem: fileSystem).allDevices(),
            groups: try IOMMUGroupReader(fileSystem: fileSystem).allGroups(),
            cpuVendor: (try? CPUFlags.read(fileSystem).vendor) ?? .other,
            essentials: HostEssentials.read(fileSystem),
            files: files,
            modes: modes,
            hasInitramfsTools: fileSystem.isDirectory("/etc/initramfs-tools")
        )
    }
}

/// The host files an isolation may write.
public enum IsolationPaths {
    public static let grubDefaults = "/etc/default/grub"
    public static let kernelCmdline = "/etc/kernel/cmdline"
    public static let modprobeConf = "/etc/modprobe.d/vm-vfio.conf"
    /// Sorts before `udev` in init-top, so it runs before udev loads any GPU driver from the initramfs.
    public static let initramfsScript = "/etc/initramfs-tools/scripts/init-top/00-vm-vfio-override"
    public static let initramfsModules = "/etc/initramfs-tools/modules"
    public static let all = [grubDefaults, kernelCmdline, modprobeConf, initramfsScript, initramfsModules]
}

/// Plans the boot-time isolation of a GPU slot. Pure apart from loading templates.
public struct IsolationPlanner: Sendable {
    public let templates: TemplateDirectory

    public init(templates: TemplateDirectory) {
        self.templates = templates
    }

    /// The plan for `inputs.slot`, or an ``IsolationRefusal`` (unless `force` and the refusal is overridable).
    public func plan(_ inputs: IsolationInputs, force: Bool = false) throws -> IsolationPlan {
        let slot = inputs.slot
        let functions = inputs.devices.filter { $0.address.pciSlot == slot }
        guard !functions.isEmpty else { throw IsolationRefusal.slotNotFound(slot.description) }
        let groupNumber = functions.compactMap(\.iommuGroup).first
        let group = groupNumber.flatMap { number in inputs.groups.first { $0.number == number } }
        let byAddress = Dictionary(uniqueKeysWithValues: inputs.devices.map { ($0.address, $0) })
        let members = group.map { $0.members.compactMap { byAddress[$0] } } ?? functions

        let refusals = Self.refusals(inputs: inputs, functions: functions, members: members, group: groupNumber)
        var overridden: [String] = []
        if !refusals.isEmpty {
            let refusal = refusals.count == 1 ? refusals[0] : .several(refusals)
            guard force && refusal.overridable else { throw refusal }
            overridden = refusals.map(\.description)
        }

        let slotIDs = Set(functions.map(\.ids))
        let shared = inputs.devices.contains { $0.address.pciSlot != slot && slotIDs.contains($0.ids) }
        var notes: [String] = []
        if group == nil {
            notes.append("The IOMMU is off, so the group of \(slot) is unknown: run `vm gpu list` after rebooting to check that it holds only this card.")
        }
        var arguments: [String] = []
        if inputs.cpuVendor == .intel { arguments.append("intel_iommu=on") }
        if inputs.cpuVendor == .amd {
            notes.append("AMD enables its IOMMU by default (amd_iommu=on is not a valid argument); iommu=pt is optional.")
        }
        let method: IsolationMethod = shared ? .driverOverride : .vfioIDs
        if method == .vfioIDs {
            let ids = Self.orderedUnique(functions.map(\.ids.description))
            arguments.append("vfio-pci.ids=" + ids.joined(separator: ","))
        }

        var changes: [FileChange] = []
        var commands: [[String]] = []
        func change(_ path: String, _ after: String, mode: UInt16 = 0o644) {
            let before = inputs.files[path]
            if before != after { changes.append(FileChange(path: path, before: before, after: after, mode: inputs.modes[path] ?? mode)) }
        }

        let grub = inputs.files[IsolationPaths.grubDefaults]
        let kernelCmdline = inputs.files[IsolationPaths.kernelCmdline]
        if let grub {
            change(IsolationPaths.grubDefaults, KernelArgumentEditor.updateGrubDefaults(grub, adding: arguments))
        }
        if let kernelCmdline {
            change(IsolationPaths.kernelCmdline, KernelArgumentEditor.updateKernelCmdline(kernelCmdline, adding: arguments))
            notes.append("/etc/kernel/cmdline changed: on Pop!_OS run `kernelstub -a ARG` for each new argument; with systemd-boot re-run `kernel-install add` (or your distribution's hook) so the boot entries pick it up.")
        }
        if grub == nil && kernelCmdline == nil && !arguments.isEmpty {
            notes.append("No /etc/default/grub or /etc/kernel/cmdline: add these kernel arguments to your boot loader by hand: \(arguments.joined(separator: " "))")
        }
        if changes.contains(where: { $0.path == IsolationPaths.grubDefaults }) { commands.append(["update-grub"]) }

        let values = ["SLOT": slot.description]
        switch method {
        case .vfioIDs:
            let drivers = Self.orderedUnique(functions.compactMap(\.driver).filter { $0 != vfioDriverName })
            var rendered = values
            rendered["SOFTDEPS"] = drivers.map { "softdep \($0) pre: vfio-pci" }.joined(separator: "\n")
            if !drivers.isEmpty {
                change(IsolationPaths.modprobeConf, try templates.render("host/vm-vfio.conf", rendered))
            }
        case .driverOverride:
            guard inputs.hasInitramfsTools else { throw IsolationRefusal.initramfsToolsMissing }
            var rendered = values
            rendered["ADDRESSES"] = functions.map(\.address.description).joined(separator: " ")
            change(IsolationPaths.initramfsScript, try templates.render("host/vm-vfio-override", rendered), mode: 0o755)
            let modules = inputs.files[IsolationPaths.initramfsModules] ?? ""
            let existing = Set(modules.split(separator: "\n").map { $0.trimmingBlanks() })
            if !["vfio", "vfio_iommu_type1", "vfio_pci"].allSatisfy(existing.contains) {
                let block = try templates.render("host/initramfs-modules", values)
                let separator = modules.isEmpty || modules.hasSuffix("\n") ? "" : "\n"
                change(IsolationPaths.initramfsModules, modules + separator + block)
            }
            let others = inputs.devices.filter { $0.address.pciSlot != slot && slotIDs.contains($0.ids) }
            notes.append("Identical devices stay on the host: \(others.map(\.address.description).joined(separator: ", ")); only \(slot) is overridden.")
        }
        if inputs.hasInitramfsTools && changes.contains(where: { $0.path != IsolationPaths.grubDefaults && $0.path != IsolationPaths.kernelCmdline }) {
            commands.append(["update-initramfs", "-u", "-k", "all"])
        }
        if !changes.isEmpty { notes.append("Reboot after applying for the change to take effect.") }
        return IsolationPlan(slot: slot.description, functions: functions.map(\.address), method: method, kernelArguments: arguments,
                             changes: changes, commands: commands, notes: notes, overriddenRefusals: overridden)
    }

    /// Safety refusals for passing `members` (the slot's group) to a guest.
    static func refusals(inputs: IsolationInputs, functions: [PCIDevice], members: [PCIDevice], group: Int?) -> [IsolationRefusal] {
        var refusals: [IsolationRefusal] = []
        let addresses = Set(members.map(\.address))
        let disks = inputs.essentials.bootDiskControllers.filter(addresses.contains)
        if !disks.isEmpty { refusals.append(.bootDisk(group: group, controllers: disks)) }
        let nics = inputs.essentials.defaultRouteNICs.filter(addresses.contains)
        if !nics.isEmpty { refusals.append(.networkInUse(group: group, nics: nics, interfaces: inputs.essentials.defaultRouteInterfaces)) }
        if let bootDisplay = functions.first(where: { $0.isDisplay && $0.bootVGA == true }),
           !inputs.devices.contains(where: { $0.isDisplay && $0.address.pciSlot != inputs.slot }) {
            refusals.append(.onlyHostDisplay(bootDisplay.address))
        }
        if let group {
            let foreign = members.filter { !$0.isPCIBridge && $0.address.pciSlot != inputs.slot }
            if !foreign.isEmpty {
                let names = foreign.map { device in
                    "\(device.address) [\(device.ids)] class \(hexClass(device.classCode))" + (device.driver.map { " on \($0)" } ?? "")
                }
                refusals.append(.foreignGroupMembers(group: group, members: names))
            }
        }
        return refusals
    }

    static func orderedUnique(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { seen.insert($0).inserted }
    }
}

/// `0x0c0330`
func hexClass(_ code: UInt32) -> String {
    let digits = String(code, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
}

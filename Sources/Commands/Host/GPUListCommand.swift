import ArgumentParser
import FoundationEssentials
import Glibc
import HostLinux
import VMCore

/// `vm gpu list`: every display device, its slot's functions and its IOMMU group.
public struct GPUListCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List GPUs with every function of their slot, drivers and IOMMU groups.",
        discussion: """
        EXAMPLES:
          vm gpu list
          vm gpu list --json

        On a host with one GPU, a last line says what holds it (console, framebuffer, display manager, processes) and how \
        host = "release" gives it to a VM.
        """
    )

    @OptionGroup var options: HostOptions

    public init() {}

    public func run() throws {
        let entries = try GPUInventory.read(options.fileSystem())
        if options.json {
            try HostOutput.printJSON(entries)
            return
        }
        if entries.isEmpty { print("no display devices found") }
        for entry in entries { print(Self.describe(entry)) }
        if entries.count == 1, let only = entries.first { print(try Self.onlyDisplayNote(only, fileSystem: options.fileSystem())) }
    }

    /// For a host with one GPU: what holds it, and that `host = "release"` hands it to a VM.
    static func onlyDisplayNote(_ entry: GPUEntry, fileSystem: any HostFileSystem) throws -> String {
        let functions = entry.functions.map(\.device)
        let facts = try HostDisplayReader(fileSystem: fileSystem).facts(functions: functions.map(\.address))
        let scanner = HolderScanner(fileSystem: fileSystem)
        let users = facts.users(holders: scanner.holders(of: scanner.deviceNodes(of: functions)))
        return "\(entry.slot) is the host's only GPU" + (users.isEmpty ? "" : "; the host uses it through " + users.joined(separator: ", "))
            + ". To give it to a VM for a run and get the desktop back after: host = \"release\" on its [[gpu]] (`vm gpu release-plan NAME` shows the steps; "
            + "with plug = \"hot\", from `vm gpu attach` to `vm gpu detach`)"
    }

    static func describe(_ entry: GPUEntry) -> String {
        func name(_ function: GPUEntry.Function) -> String {
            [function.vendorName, function.deviceName].compactMap { $0 }.joined(separator: " ")
        }
        func line(_ function: GPUEntry.Function) -> String {
            let device = function.device
            var parts = [device.address.description, "[\(device.ids)]"]
            if let vendor = device.subsystemVendorID, let sub = device.subsystemDeviceID {
                parts.append("subsystem \(PCIIDPair(vendor: vendor, device: sub))")
            }
            parts.append("class " + PrintfFormat.string("0x%06x", device.classCode))
            parts.append("driver " + (device.driver ?? "none"))
            if let override = device.driverOverride { parts.append("override " + override) }
            if let boot = device.bootVGA { parts.append("boot_vga \(boot ? 1 : 0)") }
            let label = name(function)
            return parts.joined(separator: "  ") + (label.isEmpty ? "" : "  " + label)
        }
        var text = entry.slot
        if let display = entry.functions.first(where: { $0.device.isDisplay }), !name(display).isEmpty { text += "  " + name(display) }
        if !entry.identicalTo.isEmpty { text += "  (identical to \(entry.identicalTo.joined(separator: ", ")))" }
        text += "\n" + entry.functions.map { "  " + line($0) }.joined(separator: "\n")
        guard let group = entry.group else { return text + "\n  IOMMU group: none (IOMMU off)" }
        let verdict = group.viability
        var summary = "  IOMMU group \(group.number): " + (verdict.viable ? "viable" : "not viable now (host drivers on \(verdict.blockingMembers.map(\.description).joined(separator: ", ")))")
        summary += verdict.foreignMembers.isEmpty ? "; holds only this card (and bridges)"
            : "; also holds \(verdict.foreignMembers.map(\.description).joined(separator: ", ")): cannot pass this card alone"
        text += "\n" + summary
        text += "\n" + group.members.map { "    " + line($0) }.joined(separator: "\n")
        return text
    }
}

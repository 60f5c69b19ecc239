import ArgumentParser
import HostLinux
import VMCore

/// `vm host bind SLOT vfio-pci|host`: move a GPU's functions between vfio-pci and the host drivers now.
public struct HostBindCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bind",
        abstract: "Bind every function of a GPU slot to vfio-pci, or give it back to the host drivers.",
        discussion: """
        The original drivers are remembered in /var/lib/vm/bindings under the host root.

        EXAMPLES:
          vm host bind 0000:05:00 vfio-pci
          vm host bind 0000:05:00 host
        """
    )

    enum Target: String, ExpressibleByArgument, CaseIterable {
        case vfio = "vfio-pci"
        case host
    }

    @Argument(help: "The GPU slot, e.g. 0000:05:00.", completion: Completions.gpuSlots)
    var slot: String

    @Argument(help: "vfio-pci or host.")
    var target: Target

    @Option(help: "Seconds to wait for a driver to let go of a function.")
    var timeout: Double = 10

    @Flag(help: "Go on although processes hold the card or its IOMMU group holds other devices.")
    var force = false

    @OptionGroup var options: HostOptions

    public init() {}

    public func validate() throws {
        if PCISlot(slot) == nil { throw ValidationError("not a PCI slot: \(slot) (expected 0000:05:00)") }
        if !(timeout > 0) { throw ValidationError("--timeout must be positive") }
    }

    struct Report: Encodable {
        var slot: String
        var group: Int
        var functions: [Function]
        var holders: [DeviceHolder]
        struct Function: Encodable {
            var address: String
            var before: String?
            var after: String?
        }
    }

    public func run() throws {
        let slot = PCISlot(self.slot)!
        let fileSystem = options.fileSystem()
        let binder = DriverBinder(fileSystem: fileSystem, unbindTimeout: .milliseconds(Int64(timeout * 1000)))
        let store = BindingRecordStore(fileSystem: fileSystem)
        let verified = try binder.verify(slot, requireIsolatedGroup: target == .vfio && !force)
        let before = verified.functions.map(\.driver)
        var holders: [DeviceHolder] = []
        switch target {
        case .vfio:
            holders = HolderScanner(fileSystem: fileSystem).holders(of: verified.functions)
            if !holders.isEmpty && !force {
                let names = holders.map { "\($0.pid) \($0.command) (\($0.deviceNode))" }.joined(separator: ", ")
                throw HostCommandError("processes hold the card: \(names); stop them or use --force")
            }
            let bindings = try binder.bindSlotToVFIO(verified)
            try store.save(bindings, for: slot)
        case .host:
            if let bindings = try store.load(slot, functions: verified.addresses) {
                try binder.returnSlotToHost(bindings, in: verified)
            } else {
                let unknown = verified.functions.map { FunctionBinding(address: $0.address, originalDriver: nil, originalOverride: nil) }
                try binder.returnSlotToHost(unknown, in: verified, expectOriginal: false)
            }
            try store.remove(slot)
        }
        let report = Report(slot: slot.description, group: verified.group.number, functions: zip(verified.functions, before).map { function, driver in
            Report.Function(address: function.address.description, before: driver, after: binder.currentDriver(function.address))
        }, holders: holders)
        if options.json {
            try HostOutput.printJSON(report)
        } else {
            for function in report.functions {
                print("\(function.address): \(function.before ?? "none") -> \(function.after ?? "none")")
            }
            if target == .vfio, fileSystem.exists("/dev/vfio/\(verified.group.number)") {
                print("/dev/vfio/\(verified.group.number) ready")
            }
        }
    }
}

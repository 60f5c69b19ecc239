import ArgumentParser
import HostLinux
import QEMU
import QMP
import VMCore

/// `vm usb`: host USB devices into and out of a running VM.
struct USBCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usb", abstract: "Plug host USB devices into a running VM and take them out again.",
        discussion: """
            EXAMPLES:
              vm usb attach win11 046d:c52b
              vm usb detach win11 046d:c52b
              vm usb controllers
            """,
        subcommands: [USBAttachCommand.self, USBDetachCommand.self, USBControllersCommand.self])
}

/// The arguments of `vm usb attach|detach`.
struct USBDeviceOptions: ParsableArguments {
    @Argument(help: VMNames.help, completion: VMNames.completion)
    var name: String

    @Argument(help: ArgumentHelp("The host device: vendor:product (`lsusb`), or BUS-PORT as sysfs names it (`1-1.2`).",
                                 valueName: "device"))
    var device: String

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        _ = try selector()
    }

    /// The device as a selector, or a usage error that says how to write it.
    func selector() throws -> USBDevice.Selector {
        if let ids = USBDevice.Selector.ids(parsing: device) { return ids }
        let parts = device.split(separator: "-", maxSplits: 1)
        if parts.count == 2, let bus = Int(parts[0]), (1...255).contains(bus),
           parts[1].split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ Int($0).map { (1...31).contains($0) } == true }) {
            return .port(bus: bus, port: String(parts[1]))
        }
        throw ValidationError("'\(device)' is neither vendor:product (046d:c52b) nor BUS-PORT (1-1.2)")
    }

    /// The QEMU id of the device: one per host device, the same as a boot `[[usb]]` device's, so
    /// that detach finds what attach or the definition plugged.
    func deviceID() throws -> String {
        try selector().qemuID
    }

    /// The VM's QMP connection (QEMU backend only).
    func client() async throws -> QMPClient {
        let loaded = try CommandSupport.loadResolved(name)
        guard loaded.spec.backend == .qemu else {
            throw CommandFailure("\(loaded.spec.name) runs on the libvirt backend; plug USB devices there with `virsh attach-device` (a <hostdev type='usb'>), or give them as [[usb]] in the definition")
        }
        return try await CommandSupport.qmp(loaded, debug: global.debug)
    }
}

/// `vm usb attach NAME DEVICE`
struct USBAttachCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Plug a host USB device into the running VM (QEMU usb-host behind its xHCI controller).",
        discussion: """
            The VM needs an xHCI controller: a [[usb]] in its definition, or usb_controller = true. \
            A device given by vendor:product is taken wherever it is plugged in, also later.

            EXAMPLES:
              vm usb attach win11 046d:c52b
              vm usb attach win11 1-1.2
            """)

    @OptionGroup var options: USBDeviceOptions

    func run() async throws {
        let id = try options.deviceID()
        let properties = QEMUCommandLine.usbHostProperties(try options.selector(), id: id)
        let client = try await options.client()
        defer { client.close() }
        do {
            try await client.deviceAdd(driver: "usb-host", id: id,
                                       properties: Dictionary(uniqueKeysWithValues: properties.filter { $0.0 != "id" }.map { ($0.0, JSONValue.string($0.1)) }))
        } catch {
            if "\(error)".contains("\(QEMUCommandLine.usbControllerID).0") {
                throw CommandFailure("\(options.name) has no USB controller; add usb_controller = true (or a [[usb]]) to its definition and restart it")
            }
            throw CommandFailure("QEMU refused the USB device \(options.device): \(error)")
        }
        print("\(options.device) plugged into \(options.name) as \(id); `vm usb detach \(options.name) \(options.device)` takes it out")
    }
}

/// `vm usb detach NAME DEVICE`
struct USBDetachCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detach",
        abstract: "Take a USB device that `vm usb attach` or a [[usb]] plugged out of the running VM.",
        discussion: """
            EXAMPLES:
              vm usb detach win11 046d:c52b
            """)

    @OptionGroup var options: USBDeviceOptions

    func run() async throws {
        let id = try options.deviceID()
        let client = try await options.client()
        defer { client.close() }
        do {
            try await client.deviceDel(id: id, timeout: .seconds(10))
        } catch {
            if case .commandFailed(_, "DeviceNotFound", _) = error {
                throw CommandFailure("\(options.device) is not plugged into \(options.name) (by vm usb attach or a [[usb]] given the same way)")
            }
            throw CommandFailure("QEMU did not take out the USB device \(options.device): \(error)")
        }
        print("\(options.device) taken out of \(options.name)")
    }
}

/// `vm usb controllers`
struct USBControllersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controllers",
        abstract: "List the host's USB controllers, their IOMMU groups and what is plugged in (for [[usb_host_controller]]).",
        discussion: """
            A controller passed whole takes every device plugged into it away from the host for the run:

              [[usb_host_controller]]
              address = "0000:0a:00.3"

            vm up takes one only when it is alone in its IOMMU group (bridges aside), as for a GPU.

            EXAMPLES:
              vm usb controllers
              vm usb controllers --json
            """)

    @OptionGroup var options: HostOptions

    func run() throws {
        let controllers = try USBControllerReader(fileSystem: options.fileSystem()).controllers()
        if options.json { return try HostOutput.printJSON(controllers) }
        guard !controllers.isEmpty else {
            print("no USB controllers (PCI class 0x0c03) in /sys/bus/pci/devices")
            return
        }
        for controller in controllers {
            let group = controller.iommuGroup.map { "IOMMU group \($0)" } ?? "no IOMMU group (the IOMMU is off)"
            let verdict = controller.passableAlone ? "can be passed alone"
                : controller.iommuGroup == nil ? "cannot be passed"
                : "cannot be passed alone: the group also holds \(controller.sharesGroupWith.map(\.description).joined(separator: ", "))"
            print("\(controller.address) [\(controller.ids)] \(controller.driver ?? "no driver"), \(group): \(verdict)")
            for peripheral in controller.peripherals {
                print("  \(peripheral.name) \(peripheral.ids)\(peripheral.product.map { " \"\($0)\"" } ?? "")")
            }
            if controller.peripherals.isEmpty { print("  nothing plugged in") }
        }
    }
}

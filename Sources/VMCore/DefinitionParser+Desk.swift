/// The desk: `[looking_glass]`, `[[input]]`, `input_bus`, `[[usb]]`, `usb_controller`, `[[usb_host_controller]]`
/// and `[audio]`.
extension DefinitionParser {
    static let deskKeys = ["looking_glass", "input", "input_bus", "usb", "usb_controller", "usb_host_controller", "audio"]

    /// Reads the desk tables of `top` into `spec`.
    func readDesk(_ top: TableReader, into spec: inout VMSpec) {
        if let table = top.table("looking_glass") { spec.lookingGlass = lookingGlass(table) }
        spec.inputs = top.tables("input").compactMap(evdevInput)
        if let bus = top.choice("input_bus", of: InputBus.self) {
            spec.inputBus = bus
            if spec.inputs.isEmpty {
                top.issues.report(top.keyPath("input_bus"), "input_bus says how [[input]] devices reach the guest, and there is none",
                                  fix: "add an [[input]] with the evdev device's path, or remove input_bus")
            }
        }
        spec.usbDevices = top.tables("usb").compactMap(usbDevice)
        if let controller = top.boolean("usb_controller") { spec.usbController = controller }
        var seen: [PCIAddress: String] = [:]
        for gpu in spec.gpus {
            for function in gpu.functions { seen[function] = "a [[gpu]]" }
        }
        spec.usbHostControllers = top.tables("usb_host_controller").compactMap { reader in
            guard let controller = usbHostController(reader) else { return nil }
            if let other = seen[controller.address] ?? spec.gpus.first(where: { $0.slot == controller.address.pciSlot }).map({ _ in "a [[gpu]]" }) {
                reader.issues.report(reader.keyPath("address"), "\(controller.address) is already passed through by \(other)",
                                     fix: "give each PCI function to the guest once")
                return nil
            }
            seen[controller.address] = reader.path
            return controller
        }
        if let table = top.table("audio") { spec.audio = audio(table) }
    }

    /// `[audio]`: `backend` (`"pulseaudio"`, also for PipeWire, or `"none"`) and `server`.
    private func audio(_ reader: TableReader) -> AudioSpec {
        reader.rejectUnknownKeys(["backend", "server"])
        var audio = AudioSpec()
        if let backend = reader.choice("backend", of: AudioSpec.Backend.self) { audio.backend = backend }
        if let server = reader.string("server", example: "\"unix:/run/user/1000/pulse/native\"") {
            if audio.backend == .none {
                reader.issues.report(reader.keyPath("server"), "backend \"none\" plays to no server", fix: "remove server, or set backend = \"pulseaudio\"")
            } else if server.hasPrefix("unix:/"), !server.contains(",") {
                audio.server = server
            } else {
                reader.issues.report(reader.keyPath("server"), "'\(server)' is not a local PulseAudio socket",
                                     fix: "write it as server = \"unix:/run/user/1000/pulse/native\" (PipeWire's pipewire-pulse serves the same path)")
            }
        }
        return audio
    }

    /// `[looking_glass]`: `enabled` (default true), `resolution = "2560x1440"` or `size = "64M"`,
    /// `path`, `owner`.
    private func lookingGlass(_ reader: TableReader) -> LookingGlassSpec? {
        reader.rejectUnknownKeys(["enabled", "resolution", "size", "path", "owner"])
        guard reader.boolean("enabled") ?? true else { return nil }
        var spec = LookingGlassSpec()
        let resolution = reader.string("resolution", example: "\"2560x1440\"")
        let size = reader.string("size", example: "\"64M\"")
        if resolution != nil, size != nil {
            reader.issues.report(reader.keyPath("size"), "give resolution or size, not both", fix: "remove size (it follows from the resolution)")
        } else if let resolution {
            let parts = resolution.lowercased().split(separator: "x").compactMap { Int($0) }
            if parts.count == 2, (320...16384).contains(parts[0]), (200...16384).contains(parts[1]) {
                spec.sizeMiB = LookingGlassSpec.sizeMiB(width: parts[0], height: parts[1])
            } else {
                reader.issues.report(reader.keyPath("resolution"), "'\(resolution)' is not a resolution", fix: "write it as resolution = \"2560x1440\"")
            }
        } else if let size {
            let digits = size.hasSuffix("M") ? Int(size.dropLast()) : nil
            if let mebibytes = digits, (2...4096).contains(mebibytes), mebibytes & (mebibytes - 1) == 0 {
                spec.sizeMiB = mebibytes
            } else {
                reader.issues.report(reader.keyPath("size"), "'\(size)' is not a power of two in MiB from 2M to 4096M",
                                     fix: "write it as size = \"64M\", or give resolution = \"WIDTHxHEIGHT\" instead")
            }
        }
        if let path = reader.string("path", example: "\"/dev/shm/looking-glass\"") {
            let allowed = (path.hasPrefix("/dev/shm/") && !path.dropFirst(9).contains("/") && path.count > 9) || path.hasPrefix("/dev/kvmfr")
            if allowed, !path.contains("..") {
                spec.path = path
            } else {
                reader.issues.report(reader.keyPath("path"), "'\(path)' is neither a file directly under /dev/shm nor a kvmfr device",
                                     fix: "use path = \"/dev/shm/looking-glass\" (the default) or \"/dev/kvmfr0\"")
            }
        }
        if let owner = reader.string("owner", example: "\"alice\"") {
            if Self.isUserName(owner) {
                spec.owner = owner
            } else {
                reader.issues.report(reader.keyPath("owner"), "'\(owner)' is not a user name", fix: "give the login name of the desktop user")
            }
        }
        return spec
    }

    /// `[[input]]`: `path` under `/dev/input`, `grab_all`, `repeat`.
    private func evdevInput(_ reader: TableReader) -> EvdevInput? {
        reader.rejectUnknownKeys(["path", "grab_all", "repeat"])
        guard let path = reader.string("path", example: "\"/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd\"") else {
            if reader.value("path") == nil {
                reader.issues.report(reader.path, "an [[input]] needs path, the evdev device", fix: "add path = \"/dev/input/by-id/...\" (`vm input list` shows them)")
            }
            return nil
        }
        guard path.hasPrefix("/dev/input/"), !path.contains("..") else {
            reader.issues.report(reader.keyPath("path"), "'\(path)' is not an input device under /dev/input",
                                 fix: "use a /dev/input/by-id/...-event-... path (`vm input list` shows them)")
            return nil
        }
        var input = EvdevInput(path: path)
        if let grabAll = reader.boolean("grab_all") { input.grabAll = grabAll }
        if let repeats = reader.boolean("repeat") { input.repeats = repeats }
        return input
    }

    /// `[[usb]]`: `device = "046d:c52b"`, or `bus` and `port`.
    private func usbDevice(_ reader: TableReader) -> USBDevice? {
        reader.rejectUnknownKeys(["device", "bus", "port"])
        if let device = reader.string("device", example: "\"046d:c52b\"") {
            if reader.value("bus") != nil || reader.value("port") != nil {
                reader.issues.report(reader.keyPath("device"), "give device or bus and port, not both", fix: "remove bus and port")
                return nil
            }
            guard let selector = USBDevice.Selector.ids(parsing: device) else {
                reader.issues.report(reader.keyPath("device"), "'\(device)' is not a vendor:product pair",
                                     fix: "write it as device = \"046d:c52b\" (`lsusb` shows the ids)")
                return nil
            }
            return USBDevice(selector: selector)
        }
        let bus = reader.integer("bus", range: 1...255, example: "1")
        let port = reader.string("port", example: "\"1.2\"")
        guard let bus, let port else {
            if reader.value("bus") == nil || reader.value("port") == nil {
                reader.issues.report(reader.path, "a [[usb]] needs device (vendor:product) or bus and port",
                                     fix: "add device = \"046d:c52b\", or bus = 1 and port = \"1.2\" (`lsusb -t` shows them)")
            }
            return nil
        }
        guard !port.isEmpty, port.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ Int($0).map { (1...31).contains($0) } == true }) else {
            reader.issues.report(reader.keyPath("port"), "'\(port)' is not a USB port path", fix: "write it as port = \"1.2\" (port numbers joined by dots)")
            return nil
        }
        return USBDevice(selector: .port(bus: bus, port: port))
    }

    /// `[[usb_host_controller]]`: `address`, the controller's PCI function.
    private func usbHostController(_ reader: TableReader) -> USBHostController? {
        reader.rejectUnknownKeys(["address"])
        let fix = "write the controller's PCI function as address = \"0000:0a:00.3\" (`vm usb controllers` lists the USB controllers)"
        guard let text = reader.string("address", example: "\"0000:0a:00.3\"") else {
            if reader.value("address") == nil {
                reader.issues.report(reader.path, "a [[usb_host_controller]] needs address, its PCI function", fix: fix)
            }
            return nil
        }
        guard let address = PCIAddress(text) else {
            let why = PCISlot(text) != nil ? "'\(text)' is a slot, not a function: a controller is one function" : "'\(text)' is not a PCI function address"
            reader.issues.report(reader.keyPath("address"), why, fix: fix)
            return nil
        }
        return USBHostController(address: address)
    }

    /// A login name: lower-case letters, digits, `_` and `-`, not starting with a digit or `-`.
    static func isUserName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, text.count <= 32 else { return false }
        let allowed = { (scalar: Unicode.Scalar) in ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "-" }
        return (("a"..."z").contains(first) || first == "_") && text.unicodeScalars.allSatisfy(allowed)
    }
}

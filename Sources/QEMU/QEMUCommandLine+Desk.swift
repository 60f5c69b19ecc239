import VMCore

extension QEMUCommandLine {
    /// The id of the Looking Glass memory backend (and, with `0`, of its IVSHMEM device).
    static let lookingGlassID = "looking-glass"
    /// The id of the xHCI controller USB devices sit behind (`vm usb attach` plugs into it).
    public static let usbControllerID = "xhci"

    /// The desk: the Looking Glass IVSHMEM device on its shared memory, evdev inputs
    /// (`input-linux`, with a virtio keyboard and mouse for `input_bus = "virtio"`), an HD-audio
    /// card on the host's sound server, and an xHCI controller (with `[[usb]]` or
    /// `usb_controller`) with the host USB devices.
    static func desk(_ spec: VMSpec) -> [String] {
        var args: [String] = []
        if let lookingGlass = spec.lookingGlass {
            args += [
                "-object", "memory-backend-file,id=\(lookingGlassID),mem-path=\(escape(lookingGlass.path)),size=\(lookingGlass.sizeMiB)M,share=on",
                "-device", "ivshmem-plain,id=\(lookingGlassID)0,memdev=\(lookingGlassID)",
            ]
        }
        for (index, input) in spec.inputs.enumerated() {
            args += ["-object", "input-linux,id=input\(index),evdev=\(escape(input.path))"
                + ",grab_all=\(input.grabAll ? "on" : "off"),repeat=\(input.repeats ? "on" : "off")"]
        }
        if spec.hasVirtioInput {
            args += ["-device", "virtio-keyboard-pci,id=input-keyboard", "-device", "virtio-mouse-pci,id=input-mouse"]
        }
        if let audio = spec.audio {
            let backend = switch audio.backend {
            case .pulseaudio: "pa,id=audio0" + (audio.server.map { ",server=\(escape($0))" } ?? "")
            case .none: "none,id=audio0"
            }
            args += ["-audiodev", backend, "-device", "ich9-intel-hda,id=sound0", "-device", "hda-duplex,audiodev=audio0,bus=sound0.0"]
        }
        if spec.usbController || !spec.usbDevices.isEmpty {
            args += ["-device", "qemu-xhci,id=\(usbControllerID)"]
            for device in spec.usbDevices {
                args += ["-device", (["usb-host"] + usbHostProperties(device.selector, id: device.selector.qemuID).map { "\($0)=\($1)" })
                    .joined(separator: ",")]
            }
        }
        for (index, controller) in spec.usbHostControllers.enumerated() {
            args += ["-device", "vfio-pci,host=\(controller.address),id=\(USBHostController.qemuID(index))"]
        }
        return args
    }

    /// The properties of the `usb-host` device for a host USB device, behind the VM's xHCI
    /// controller (for `-device` and for QMP `device_add`, which takes the same).
    public static func usbHostProperties(_ selector: USBDevice.Selector, id: String) -> [(String, String)] {
        var properties = [("id", id), ("bus", "\(usbControllerID).0")]
        switch selector {
        case let .ids(vendor, product):
            properties += [("vendorid", "0x" + String(vendor, radix: 16)), ("productid", "0x" + String(product, radix: 16))]
        case let .port(bus, port):
            properties += [("hostbus", String(bus)), ("hostport", port)]
        }
        return properties
    }
}

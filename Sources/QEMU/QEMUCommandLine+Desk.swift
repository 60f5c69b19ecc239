import VMCore

extension QEMUCommandLine {
    /// The id of the Looking Glass memory backend (and, with `0`, of its IVSHMEM device).
    static let lookingGlassID = "looking-glass"
    /// The id of the xHCI controller USB devices sit behind (`vm usb attach` plugs into it).
    public static let usbControllerID = "xhci"

    /// The desk: the Looking Glass IVSHMEM device on its shared memory, evdev inputs
    /// (`input-linux`), and an xHCI controller with the host USB devices.
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
        if !spec.usbDevices.isEmpty {
            args += ["-device", "qemu-xhci,id=\(usbControllerID)"]
            for (index, device) in spec.usbDevices.enumerated() {
                args += ["-device", usbHostDevice(device.selector, id: "usb\(index)")]
            }
        }
        return args
    }

    /// The `usb-host` device for a host USB device, behind the VM's xHCI controller.
    public static func usbHostDevice(_ selector: USBDevice.Selector, id: String) -> String {
        let source: String
        switch selector {
        case let .ids(vendor, product): source = "vendorid=0x\(String(vendor, radix: 16)),productid=0x\(String(product, radix: 16))"
        case let .port(bus, port): source = "hostbus=\(bus),hostport=\(port)"
        }
        return "usb-host,id=\(id),bus=\(usbControllerID).0,\(source)"
    }
}

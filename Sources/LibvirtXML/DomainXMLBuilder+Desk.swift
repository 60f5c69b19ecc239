import VMCore

extension DomainXMLBuilder {
    /// The desk as libvirt devices: `<shmem>` (IVSHMEM) for Looking Glass, an evdev `<input>`
    /// for each `[[input]]` (and a virtio keyboard and mouse for `input_bus = "virtio"`), an ich9
    /// `<sound>` on its `<audio>` backend, a USB `<hostdev>` for each `[[usb]]` (behind the
    /// domain's xHCI controller), a managed PCI `<hostdev>` for each `[[usb_host_controller]]`.
    func deskDevices() throws(DomainXMLError) -> [XMLTag] {
        var tags: [XMLTag] = []
        if let lookingGlass = spec.lookingGlass {
            guard !lookingGlass.usesKVMFR else { throw .lookingGlassKVMFR(path: lookingGlass.path) }
            let name = String(lookingGlass.path.split(separator: "/").last ?? "looking-glass")
            tags.append(XMLTag("shmem", [("name", name)], children: [
                XMLTag("model", [("type", "ivshmem-plain")]),
                XMLTag("size", [("unit", "M")], text: String(lookingGlass.sizeMiB)),
            ]))
        }
        for input in spec.inputs {
            var source = [("dev", input.path)]
            if input.grabAll { source.append(("grab", "all")) }
            source.append(("repeat", input.repeats ? "on" : "off"))
            tags.append(XMLTag("input", [("type", "evdev")], children: [XMLTag("source", source)]))
        }
        if spec.hasVirtioInput {
            tags += ["keyboard", "mouse"].map { XMLTag("input", [("type", $0), ("bus", "virtio")]) }
        }
        if let audio = spec.audio {
            tags.append(XMLTag("sound", [("model", "ich9")], children: [XMLTag("audio", [("id", "1")])]))
            switch audio.backend {
            case .pulseaudio:
                tags.append(XMLTag("audio", [("id", "1"), ("type", "pulseaudio")] + (audio.server.map { [("serverName", $0)] } ?? [])))
            case .none:
                tags.append(XMLTag("audio", [("id", "1"), ("type", "none")]))
            }
        }
        for device in spec.usbDevices {
            guard case let .ids(vendor, product) = device.selector else { throw .usbByPort(device.selector.description) }
            tags.append(XMLTag("hostdev", [("mode", "subsystem"), ("type", "usb"), ("managed", "yes")], children: [
                XMLTag("source", children: [
                    XMLTag("vendor", [("id", "0x" + String(vendor, radix: 16))]),
                    XMLTag("product", [("id", "0x" + String(product, radix: 16))]),
                ]),
            ]))
        }
        // libvirt moves a managed PCI hostdev to vfio-pci at start and back after the run itself.
        for (index, controller) in spec.usbHostControllers.enumerated() {
            tags.append(XMLTag("hostdev", [("mode", "subsystem"), ("type", "pci"), ("managed", "yes")], children: [
                XMLTag("source", children: [Self.hostAddress(controller.address)]),
                XMLTag("alias", [("name", "ua-" + USBHostController.qemuID(index))]),
            ]))
        }
        return tags
    }
}

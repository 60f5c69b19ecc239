import VMCore

/// One `<hostdev>` of a GPU function, ready for `virDomainAttachDeviceFlags`.
public struct HostdevXML: Sendable, Equatable {
    /// The host function passed through.
    public let hostFunction: PCIAddress
    /// The function number the guest sees on the GPU's root port.
    public let guestFunction: UInt8
    /// The libvirt user alias (`ua-...`) that names the device for detach.
    public let alias: String
    /// The `<hostdev>` element.
    public let xml: String
}

extension DomainXMLBuilder {
    func devices(plan: RootBusPlan) throws(DomainXMLError) -> XMLTag {
        var children: [XMLTag] = []
        children += try disks(plan: plan)
        children += plan.rootPorts.map { index in
            XMLTag("controller", [("type", "pci"), ("index", String(index)), ("model", "pcie-root-port")], children: [
                .pciAddress(bus: 0, slot: RootBusPlan.slot(ofRootPort: index)),
            ])
        }
        children.append(XMLTag("controller", [("type", "usb"), ("index", "0"), ("model", "qemu-xhci")], children: [
            .pciAddress(bus: 0, slot: plan.usbSlot),
        ]))
        if let slot = plan.virtioSerialSlot {
            children.append(XMLTag("controller", [("type", "virtio-serial"), ("index", "0")], children: [
                .pciAddress(bus: 0, slot: slot),
            ]))
        }
        for (index, gpu) in spec.gpus.enumerated() {
            // Hot GPUs are checked too, so a bad one fails at define rather than at attach.
            let tags = try hostdevTags(gpuIndex: index, rootPort: plan.gpuRootPorts[index]).map(\.tag)
            if gpu.plug == .boot { children += tags }
        }
        if let nic = try interface(slot: plan.nicSlot) {
            children.append(nic)
        }
        children += serialConsole()
        if spec.guestAgent {
            children.append(XMLTag("channel", [("type", "unix")], children: [
                XMLTag("source", [("mode", "bind")]),
                XMLTag("target", [("type", "virtio"), ("name", "org.qemu.guest_agent.0")]),
            ]))
        }
        children += tpm()
        children += try display()
        children += try deskDevices()
        children.append(XMLTag("memballoon", [("model", "none")]))
        return XMLTag("devices", children: children)
    }

    // MARK: - Disks

    private func disks(plan: RootBusPlan) throws(DomainXMLError) -> [XMLTag] {
        var tags: [XMLTag] = []
        var virtioCount = 0
        var sataCount = 0
        for (disk, slot) in zip(spec.disks, plan.diskSlots) {
            let target: XMLTag
            switch disk.bus {
            case .virtio:
                target = XMLTag("target", [("dev", "vd" + Self.driveLetters(virtioCount)), ("bus", "virtio")])
                virtioCount += 1
            case .sata:
                target = XMLTag("target", [("dev", "sd" + Self.driveLetters(sataCount)), ("bus", "sata")])
                sataCount += 1
            case .nvme:
                throw .nvmeDiskUnsupported(path: disk.path)
            }
            let isBlock = disk.path.hasPrefix("/dev/")
            var children = [
                XMLTag("driver", [("name", "qemu"), ("type", disk.format.rawValue), ("cache", disk.cache.rawValue)]),
                XMLTag("source", [(isBlock ? "dev" : "file", disk.path)]),
                target,
            ]
            if disk.readOnly { children.append(XMLTag("readonly")) }
            if let slot { children.append(.pciAddress(bus: 0, slot: slot)) }
            tags.append(XMLTag("disk", [("type", isBlock ? "block" : "file"), ("device", "disk")], children: children))
        }
        for cdrom in spec.cdroms {
            tags.append(XMLTag("disk", [("type", "file"), ("device", "cdrom")], children: [
                XMLTag("driver", [("name", "qemu"), ("type", "raw")]),
                XMLTag("source", [("file", cdrom.path)]),
                XMLTag("target", [("dev", "sd" + Self.driveLetters(sataCount)), ("bus", "sata")]),
                XMLTag("readonly"),
            ]))
            sataCount += 1
        }
        guard sataCount <= 6 else { throw .tooManySATADevices(count: sataCount) }
        return tags
    }

    /// `a`...`z`, `aa`... like libvirt's disk names.
    static func driveLetters(_ index: Int) -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        var number = index
        var name = ""
        repeat {
            name = String(letters[number % 26]) + name
            number = number / 26 - 1
        } while number >= 0
        return name
    }

    // MARK: - GPUs

    func hostdevs(gpuIndex: Int, rootPort: Int) throws(DomainXMLError) -> [HostdevXML] {
        try hostdevTags(gpuIndex: gpuIndex, rootPort: rootPort).map {
            HostdevXML(hostFunction: $0.host, guestFunction: $0.guest, alias: $0.alias, xml: $0.tag.rendered())
        }
    }

    /// Every function of the GPU on slot 0 of its root port. Guest function numbers equal the
    /// host ones (drivers expect the audio function at .1); when the host functions lack
    /// function 0 they are renumbered from 0, primary first, so the guest can find the slot.
    private func hostdevTags(gpuIndex: Int, rootPort: Int)
        throws(DomainXMLError) -> [(host: PCIAddress, guest: UInt8, alias: String, tag: XMLTag)]
    {
        let gpu = spec.gpus[gpuIndex]
        guard let primary = gpu.primaryFunction, !gpu.functions.isEmpty else {
            throw .gpuWithoutFunctions(index: gpuIndex)
        }
        guard Set(gpu.functions.map(\.pciSlot)).count == 1 else {
            throw .gpuFunctionsOnSeveralSlots(index: gpuIndex)
        }
        guard gpu.device == .vfioPCI else {
            throw .gpuDriverNotHostdev(index: gpuIndex, driver: gpu.device.rawValue)
        }
        if gpu.xVGA && gpu.plug == .hot { throw .xVGAOnHotGPU(index: gpuIndex) }
        let functions = gpu.functions.sorted()
        let guestNumbers: [UInt8]
        if functions.contains(where: { $0.function == 0 }) {
            guestNumbers = functions.map(\.function)
        } else {
            let ordered = [primary] + functions.filter { $0 != primary }
            guestNumbers = functions.map { function in UInt8(ordered.firstIndex(of: function) ?? 0) }
        }
        let multifunction = functions.count > 1
        return zip(functions, guestNumbers).map { host, guest in
            let alias = Self.alias(gpu: gpuIndex, function: guest)
            var children = [XMLTag("source", children: [Self.hostAddress(host)])]
            if host == primary, let rom = gpu.romFile {
                children.append(XMLTag("rom", [("file", rom)]))
            }
            children.append(XMLTag("alias", [("name", alias)]))
            children.append(.pciAddress(bus: rootPort, slot: 0, function: guest, multifunction: multifunction && guest == 0))
            let tag = XMLTag("hostdev", [("mode", "subsystem"), ("type", "pci"), ("managed", "yes")], children: children)
            return (host, guest, alias, tag)
        }
    }

    /// The `<address>` of a host PCI function in a `<hostdev>`'s `<source>`.
    static func hostAddress(_ host: PCIAddress) -> XMLTag {
        XMLTag("address", [
            ("domain", "0x" + hex2(UInt8(host.domain >> 8)) + hex2(UInt8(host.domain & 0xff))),
            ("bus", "0x" + hex2(host.bus)), ("slot", "0x" + hex2(host.slot)),
            ("function", "0x" + String(host.function, radix: 16)),
        ])
    }

    // MARK: - Network, console, display

    private func interface(slot: UInt8?) throws(DomainXMLError) -> XMLTag? {
        let network = spec.network
        let type: String
        var source: XMLTag?
        switch network.mode {
        case .none:
            return nil
        case .user:
            type = "user"
        case .bridge:
            guard let bridge = network.bridge else { throw .bridgeMissing }
            type = "bridge"
            source = XMLTag("source", [("bridge", bridge)])
        case .macvtap:
            guard let parent = network.parent else { throw .macvtapParentMissing }
            type = "direct"
            source = XMLTag("source", [("dev", parent), ("mode", "bridge")])
        case .network:
            guard let name = network.libvirtNetwork else { throw .libvirtNetworkMissing }
            type = "network"
            source = XMLTag("source", [("network", name)])
        }
        var children = [XMLTag("mac", [("address", network.mac.description)])]
        if let source { children.append(source) }
        children.append(XMLTag("model", [("type", Self.libvirtNICModel(network.model))]))
        if let slot { children.append(.pciAddress(bus: 0, slot: slot)) }
        return XMLTag("interface", [("type", type)], children: children)
    }

    /// libvirt calls QEMU's `virtio-net-pci` just `virtio`; other QEMU NIC names are the same.
    static func libvirtNICModel(_ qemuDevice: String) -> String {
        qemuDevice == "virtio-net-pci" ? "virtio" : qemuDevice
    }

    /// A pty serial port, logged to `paths.serialLog` by virtlogd when asked, and the console on it.
    private func serialConsole() -> [XMLTag] {
        let log = logsSerialConsole ? [XMLTag("log", [("file", paths.serialLog), ("append", "on")])] : []
        return [
            XMLTag("serial", [("type", "pty")], children: log + [
                XMLTag("target", [("type", "isa-serial"), ("port", "0")], children: [
                    XMLTag("model", [("name", "isa-serial")]),
                ]),
            ]),
            XMLTag("console", [("type", "pty")], children: [
                XMLTag("target", [("type", "serial"), ("port", "0")]),
            ]),
        ]
    }

    /// `[tpm] enabled`: a `tpm-crb` TPM 2.0 whose emulator libvirt runs (swtpm, its state under
    /// libvirt's `swtpm` folder, e.g. `/var/lib/libvirt/swtpm/UUID` for `qemu:///system`).
    private func tpm() -> [XMLTag] {
        guard spec.tpm.enabled else { return [] }
        return [XMLTag("tpm", [("model", "tpm-crb")], children: [
            XMLTag("backend", [("type", "emulator"), ("version", "2.0")]),
        ])]
    }

    /// No emulated video at all when headless; otherwise the card, a USB tablet, and VNC if asked.
    private func display() throws(DomainXMLError) -> [XMLTag] {
        let model: XMLTag
        switch spec.display.kind {
        case .none:
            return [XMLTag("video", children: [XMLTag("model", [("type", "none")])])]
        case .std:
            model = XMLTag("model", [("type", "vga"), ("vram", "16384"), ("heads", "1"), ("primary", "yes")])
        case .virtio:
            model = XMLTag("model", [("type", "virtio"), ("heads", "1"), ("primary", "yes")])
        }
        var tags = [XMLTag("input", [("type", "tablet"), ("bus", "usb")])]
        if let vnc = spec.display.vnc {
            let (host, port) = try Self.vncListen(vnc)
            tags.append(XMLTag("graphics", [("type", "vnc"), ("port", String(port)), ("autoport", "no")], children: [
                XMLTag("listen", [("type", "address"), ("address", host)]),
            ]))
        }
        tags.append(XMLTag("video", children: [model, .pciAddress(bus: 0, slot: RootBusPlan.videoSlot)]))
        return tags
    }

    /// `HOST:N` (QEMU's `-vnc` form, `[v6]:N` allowed) to a listen address and TCP port 5900 + N.
    public static func vncListen(_ text: String) throws(DomainXMLError) -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"),
              let display = Int(text[text.index(after: colon)...]), display >= 0, display <= 65535 - 5900
        else { throw .badVNCAddress(text) }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw .badVNCAddress(text) }
        return (host, 5900 + display)
    }
}

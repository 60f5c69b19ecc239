import VMCore

/// Turns a resolved ``VMSpec`` into libvirt domain XML (pure: no host access).
///
/// "Resolved" means OVMF `code`/`varsTemplate` are filled in and every GPU lists its functions.
///
/// Files QEMU opens itself live where libvirt's QEMU user can reach them: the per-VM OVMF vars
/// file is left to libvirt (`<nvram template=...>` with no path: libvirt copies the template to
/// its own `nvram` folder, e.g. `/var/lib/libvirt/qemu/nvram/NAME_VARS.fd` for `qemu:///system`,
/// on whichever host the connection points at), because `vm`'s state folder is 0700 root and
/// `qemu:///system` runs QEMU as `libvirt-qemu`. The serial console log is written by virtlogd
/// (root, or the session user), so it stays in `paths.serialLog` when `logsSerialConsole` is set.
///
/// Only GPUs with `plug == .boot` appear as `<hostdev>`s; each GPU, hot or not, owns one
/// `pcie-root-port`. A hot GPU is attached live by ``LibvirtGPUPlan`` (one port per function:
/// libvirt hot-plugs function 0 of a slot only).
public struct DomainXMLBuilder: Sendable {
    public let spec: VMSpec
    public let paths: VMPaths
    /// Log the serial console to `paths.serialLog`. Off for a remote libvirt host, which does
    /// not have `vm`'s state folder (its console is still there for `virsh console`).
    public let logsSerialConsole: Bool

    public init(spec: VMSpec, paths: VMPaths, logsSerialConsole: Bool = true) {
        self.spec = spec
        self.paths = paths
        self.logsSerialConsole = logsSerialConsole
    }

    /// The builder for a domain defined at libvirt URI `uri`: the serial console is logged into
    /// `vm`'s state folder only when the daemon is on this machine.
    public init(spec: VMSpec, paths: VMPaths, uri: String) {
        self.init(spec: spec, paths: paths, logsSerialConsole: LibvirtURI(uri).isLocal)
    }

    /// The complete `<domain>` document.
    public func domainXML() throws(DomainXMLError) -> String {
        try checkText()
        let plan = try RootBusPlan(spec: spec)
        let usesOverride = spec.gpus.contains { $0.plug == .boot && $0.xVGA }
        var rootAttributes = [("type", spec.accelerator == .kvm ? "kvm" : "qemu")]
        if usesOverride || !spec.nativeHotplugArguments.isEmpty {
            rootAttributes.append(("xmlns:qemu", Self.qemuNamespace))
        }
        let domain = try XMLTag("domain", rootAttributes, children: [
            XMLTag("name", text: spec.name.rawValue),
            XMLTag("memory", [("unit", "MiB")], text: String(spec.memoryMiB)),
            XMLTag("currentMemory", [("unit", "MiB")], text: String(spec.memoryMiB)),
        ] + memoryBacking() + [
            XMLTag("vcpu", [("placement", "static")], text: String(spec.cpu.count)),
        ] + cpuTune() + sysinfo() + [
            osElement(),
            features(),
            cpuElement(),
            clock(),
            XMLTag("on_poweroff", text: "destroy"),
            XMLTag("on_reboot", text: "restart"),
            XMLTag("on_crash", text: "destroy"),
            devices(plan: plan),
        ] + qemuCommandLine() + qemuOverride())
        return domain.rendered()
    }

    /// The `<hostdev>` XML for each function of GPU `index` as one multifunction slot on its port,
    /// as at boot (functions other than 0 first, function 0 last). libvirt 9.0 refuses to
    /// hot-plug a function other than 0, so live attaches use ``LibvirtGPUPlan`` instead; this
    /// gives the aliases `vm status` looks for.
    public func hotplugDevices(forGPU index: Int) throws(DomainXMLError) -> [HostdevXML] {
        try checkText()
        let plan = try RootBusPlan(spec: spec)
        let devices = try hostdevs(gpuIndex: index, rootPort: plan.gpuRootPorts[index])
        return devices.filter { $0.guestFunction != 0 } + devices.filter { $0.guestFunction == 0 }
    }

    /// The `pcie-root-port` controller index (`pci.N`) of GPU `index`.
    public func rootPortIndex(forGPU index: Int) throws(DomainXMLError) -> Int {
        try RootBusPlan(spec: spec).gpuRootPorts[index]
    }

    /// libvirt's QEMU namespace (`<qemu:override>`).
    static let qemuNamespace = "http://libvirt.org/schemas/domain/qemu/1.0"

    // MARK: - Top-level parts

    private func memoryBacking() -> [XMLTag] {
        guard let size = spec.hugepages else { return [] }
        let page = XMLTag("page", [("size", String(size.kib)), ("unit", "KiB")])
        return [XMLTag("memoryBacking", children: [XMLTag("hugepages", children: [page])])]
    }

    private func osElement() throws(DomainXMLError) -> XMLTag {
        var children = [XMLTag("type", [("arch", "x86_64"), ("machine", spec.machine)], text: "hvm")]
        switch spec.firmware.kind {
        case .ovmf:
            guard let code = spec.firmware.code else { throw .missingFirmwareCode }
            guard let vars = spec.firmware.varsTemplate else { throw .missingVarsTemplate }
            var loader = [("readonly", "yes")]
            if spec.firmware.secureBoot { loader.append(("secure", "yes")) }
            loader.append(("type", "pflash"))
            children.append(XMLTag("loader", loader, text: code))
            children.append(XMLTag("nvram", [("template", vars)]))
        case .bios:
            if spec.firmware.secureBoot { throw .secureBootNeedsOVMF }
        }
        if let boot = spec.kernelBoot {
            children.append(XMLTag("kernel", text: boot.kernel))
            if let initrd = boot.initrd { children.append(XMLTag("initrd", text: initrd)) }
            if let append = boot.append { children.append(XMLTag("cmdline", text: append)) }
        } else {
            // Disks first, then the CD-ROMs; the other way round when installing.
            var order = [XMLTag("boot", [("dev", "hd")])]
            if !spec.cdroms.isEmpty { order.insert(XMLTag("boot", [("dev", "cdrom")]), at: spec.installing ? 0 : 1) }
            children += order
        }
        if !spec.windows.smbios.isEmpty { children.append(XMLTag("smbios", [("mode", "sysinfo")])) }
        return XMLTag("os", children: children)
    }

    /// `smbios = "host"`: the host's system and board fields as `<sysinfo>` (the `<os>` says to use it).
    private func sysinfo() -> [XMLTag] {
        guard !spec.windows.smbios.isEmpty else { return [] }
        let sections = [(1, "system"), (2, "baseBoard")].compactMap { type, element -> XMLTag? in
            let fields = spec.windows.smbios.filter { $0.type == type }
            return fields.isEmpty ? nil : XMLTag(element, children: fields.map { XMLTag("entry", [("name", $0.name)], text: $0.value) })
        }
        return [XMLTag("sysinfo", [("type", "smbios")], children: sections)]
    }

    private func features() throws(DomainXMLError) -> XMLTag {
        var children = [XMLTag("acpi"), XMLTag("apic")]
        let windows = spec.windows
        if windows.hyperV || windows.hvVendorID != nil {
            var hyperv: [XMLTag] = []
            if windows.hyperV {
                let on = [("state", "on")]
                hyperv += [
                    XMLTag("relaxed", on), XMLTag("vapic", on),
                    XMLTag("spinlocks", on + [("retries", "8191")]),
                    XMLTag("vpindex", on), XMLTag("synic", on), XMLTag("stimer", on),
                    XMLTag("reset", on), XMLTag("frequencies", on),
                ]
            }
            if let vendor = windows.hvVendorID {
                guard vendor.count <= 12, !vendor.contains(",") else { throw .badHyperVVendorID(vendor) }
                hyperv.append(XMLTag("vendor_id", [("state", "on"), ("value", vendor)]))
            }
            children.append(XMLTag("hyperv", [("mode", "custom")], children: hyperv))
        }
        if windows.kvmHidden {
            children.append(XMLTag("kvm", children: [XMLTag("hidden", [("state", "on")])]))
        }
        if spec.firmware.secureBoot {
            children.append(XMLTag("smm", [("state", "on")]))
        }
        return XMLTag("features", children: children)
    }

    /// `[cpu.pin]` as `<cputune>`: a `<vcpupin>` per vCPU, `<emulatorpin>`, and with `[cpu]
    /// realtime` a `<vcpusched>` giving the vCPUs `SCHED_FIFO`. (The domain has no I/O thread
    /// objects, so `iothreads` has nothing to pin here.) `pin = "auto"` is resolved on the machine
    /// `vm` runs on before this is built.
    private func cpuTune() -> [XMLTag] {
        guard case .explicit(let pins) = spec.cpu.pin else { return [] }
        let vcpus = pins.vcpus.enumerated().map { XMLTag("vcpupin", [("vcpu", String($0.offset)), ("cpuset", String($0.element))]) }
        let emulator = pins.emulator.isEmpty ? [] : [XMLTag("emulatorpin", [("cpuset", CPUList.format(pins.emulator))])]
        let realtime = spec.cpu.realtime
            ? [XMLTag("vcpusched", [("vcpus", CPUList.format(Array(pins.vcpus.indices))), ("scheduler", "fifo"),
                                    ("priority", String(CPUSpec.realtimePriority))])]
            : []
        return [XMLTag("cputune", children: vcpus + emulator + realtime)]
    }

    /// `host` passes the host CPU through under KVM; TCG cannot, so there (and for `max`) the
    /// guest gets libvirt's `maximum` mode (QEMU `-cpu max`). Any other name is a QEMU model.
    private func cpuElement() -> XMLTag {
        let topology = XMLTag("topology", [
            ("sockets", String(spec.cpu.sockets)), ("cores", String(spec.cpu.cores)),
            ("threads", String(spec.cpu.threads)),
        ])
        switch (spec.cpu.model, spec.accelerator) {
        case ("host", .kvm):
            let topoext = spec.cpu.topoext ? [XMLTag("feature", [("policy", "require"), ("name", "topoext")])] : []
            return XMLTag("cpu", [("mode", "host-passthrough"), ("check", "none")], children: [topology] + topoext)
        case ("host", .tcg), ("max", _):
            return XMLTag("cpu", [("mode", "maximum"), ("check", "none")], children: [topology])
        case (let model, _):
            return XMLTag("cpu", [("mode", "custom"), ("match", "exact"), ("check", "none")], children: [
                XMLTag("model", [("fallback", "forbid")], text: model), topology,
            ])
        }
    }

    /// UTC RTC; Hyper-V's reference clock when the enlightenments are on (`stimer` needs it).
    private func clock() -> XMLTag {
        var timers: [XMLTag] = []
        if spec.windows.hyperV {
            timers.append(XMLTag("timer", [("name", "hypervclock"), ("present", "yes")]))
        }
        return XMLTag("clock", [("offset", "utc")], children: timers)
    }

    /// `x-vga=on` for boot GPUs that ask for it, set on the display function's QEMU device.
    private func qemuOverride() throws(DomainXMLError) -> [XMLTag] {
        var devices: [XMLTag] = []
        for (index, gpu) in spec.gpus.enumerated() where gpu.plug == .boot && gpu.xVGA {
            guard let display = gpu.primaryFunction else { throw .gpuWithoutFunctions(index: index) }
            devices.append(XMLTag("qemu:device", [("alias", Self.alias(gpu: index, function: display.function))], children: [
                XMLTag("qemu:frontend", children: [
                    XMLTag("qemu:property", [("name", "x-vga"), ("type", "bool"), ("value", "true")]),
                ]),
            ]))
        }
        return devices.isEmpty ? [] : [XMLTag("qemu:override", children: devices)]
    }

    /// `hotplug = "pcie"` on q35: libvirt 9.0 has no element for QEMU's switch from ACPI to
    /// native PCIe hot-plug, so it goes through `<qemu:commandline>`.
    private func qemuCommandLine() -> [XMLTag] {
        let arguments = spec.nativeHotplugArguments
        guard !arguments.isEmpty else { return [] }
        return [XMLTag("qemu:commandline", children: arguments.map { XMLTag("qemu:arg", [("value", $0)]) })]
    }

    /// The user alias of a GPU function's `<hostdev>` (`ua-` marks aliases chosen by us).
    static func alias(gpu: Int, function: UInt8) -> String {
        "ua-gpu\(gpu)-fn\(function)"
    }

    /// XML 1.0 cannot carry control characters other than tab, CR and LF, not even escaped.
    private func checkText() throws(DomainXMLError) {
        var fields: [(String, String?)] = [
            ("machine", spec.machine), ("cpu.model", spec.cpu.model),
            ("firmware.code", spec.firmware.code), ("firmware.vars_template", spec.firmware.varsTemplate),
            ("kernel", spec.kernelBoot?.kernel), ("initrd", spec.kernelBoot?.initrd),
            ("append", spec.kernelBoot?.append), ("network.bridge", spec.network.bridge),
            ("network.parent", spec.network.parent), ("network.libvirt_network", spec.network.libvirtNetwork),
            ("network.model", spec.network.model), ("display.vnc", spec.display.vnc),
            ("windows.hv_vendor_id", spec.windows.hvVendorID),
            ("state directory", paths.stateDirectory),
        ]
        fields += spec.disks.map { ("disk path", $0.path) }
        fields += spec.cdroms.map { ("cdrom path", $0.path) }
        fields += spec.gpus.map { ("gpu rom", $0.romFile) }
        fields += spec.inputs.map { ("input path", $0.path) }
        fields.append(("looking_glass.path", spec.lookingGlass?.path))
        for case let (field, value?) in fields
        where value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" && $0 != "\n" && $0 != "\r" }) {
            throw .controlCharacter(field: field)
        }
    }
}

/// Shorthand for ``DomainXMLBuilder/domainXML()``.
public func domainXML(for spec: VMSpec, paths: VMPaths, logsSerialConsole: Bool = true) throws(DomainXMLError) -> String {
    try DomainXMLBuilder(spec: spec, paths: paths, logsSerialConsole: logsSerialConsole).domainXML()
}

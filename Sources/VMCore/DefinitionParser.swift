import FoundationEssentials
import Glibc

/// Turns the text of a definition file into a validated ``VMSpec``, or a ``DefinitionError``
/// listing every problem with its file, line, key and fix.
///
/// Pure except for `fileProblem`, which checks the images, kernels and ROMs it names.
public struct DefinitionParser: Sendable {
    /// The file being read (for messages) and the folder relative paths start from.
    public var file: String
    /// What is wrong with a file the definition names, or nil when QEMU can use it; injected so
    /// tests can run without the files.
    public var fileProblem: @Sendable (String) -> FileProblem?

    public init(file: String, fileProblem: @escaping @Sendable (String) -> FileProblem? = FileProblem.onHost) {
        self.file = file
        self.fileProblem = fileProblem
    }

    /// A parser for a world where exactly the paths `fileExists` accepts are usable files.
    public init(file: String, fileExists: @escaping @Sendable (String) -> Bool) {
        self.init(file: file, fileProblem: { fileExists($0) ? nil : .missing })
    }

    static let topLevelKeys = [
        "name", "machine", "accelerator", "backend", "libvirt_uri", "memory", "hugepages", "qmp_socket",
        "guest_agent", "spare_root_ports", "hotplug", "extra_args", "cpu", "firmware", "boot", "disk", "cdrom", "gpu", "windows",
        "tpm", "network", "display",
    ] + deskKeys

    /// Parses and validates `text`.
    public func parse(_ text: String) throws(DefinitionError) -> VMSpec {
        try parse(Array(text.utf8))
    }

    /// Parses and validates the bytes of a file (invalid UTF-8 is reported with its line).
    public func parse(_ bytes: [UInt8]) throws(DefinitionError) -> VMSpec {
        let document: TOMLDocument
        do {
            document = try TOMLDocument(parsing: bytes)
        } catch {
            throw DefinitionError(issues: [DefinitionIssue(
                file: file, line: error.line, key: nil, message: "TOML syntax error: \(error.message)",
                fix: "correct the TOML at column \(error.column)")])
        }
        let issues = IssueCollector(file: file, lines: document.lines)
        let top = TableReader(path: "", entries: document.root, issues: issues)
        top.rejectUnknownKeys(Self.topLevelKeys)

        let fileStem = Self.stem(of: file)
        let nameText = top.string("name", example: "\"win11\"") ?? fileStem
        let name: VMName
        do {
            name = try VMName(nameText)
        } catch {
            issues.report(top.value("name") == nil ? nil : "name", error.description,
                          fix: top.value("name") == nil ? "rename the file" : "change the name")
            throw DefinitionError(issues: issues.issues)
        }
        if top.value("name") != nil, nameText != fileStem {
            issues.report("name", "the name '\(nameText)' differs from the file name '\(fileStem).toml', so `vm \(nameText)` would not find it",
                          fix: "rename the file to \(nameText).toml, or set name = \"\(fileStem)\" (or remove the name)")
        }
        var spec = VMSpec(name: name)
        if let machine = top.string("machine", example: "\"q35\"") { spec.machine = machine }
        if let accelerator = top.choice("accelerator", of: Accelerator.self) { spec.accelerator = accelerator }
        spec.backend = backend(top)
        if let memory = memoryMiB(top) { spec.memoryMiB = memory }
        spec.hugepages = hugepages(top)
        if let socket = top.string("qmp_socket", example: "\"/run/vm/win11.qmp\"") { spec.qmpSocket = resolved(socket) }
        if let agent = top.boolean("guest_agent") { spec.guestAgent = agent }
        if let spare = top.integer("spare_root_ports", range: 0...16) { spec.spareRootPorts = spare }
        if let hotplug = top.choice("hotplug", of: PCIHotplug.self) { spec.hotplug = hotplug }
        if let extra = top.stringArray("extra_args", example: "[\"-device\", \"intel-iommu\"]") { spec.extraQEMUArguments = extra }
        if let cpu = top.table("cpu") { spec.cpu = self.cpu(cpu) }
        if let firmware = top.table("firmware") { spec.firmware = self.firmware(firmware) }
        if let boot = top.table("boot") { spec.kernelBoot = kernelBoot(boot) }
        spec.disks = top.tables("disk").compactMap(disk)
        spec.cdroms = top.tables("cdrom").compactMap(cdrom)
        spec.gpus = gpus(top.tables("gpu"), issues: issues)
        if let windows = top.table("windows") { spec.windows = self.windows(windows) }
        if let tpm = top.table("tpm") { spec.tpm = self.tpm(tpm) }
        if let network = top.table("network") { spec.network = self.network(network, name: name) }
        if let display = top.table("display") { spec.display = self.display(display) }
        readDesk(top, into: &spec)
        if spec.network.mode == .network, spec.backend == .qemu {
            issues.report("network.mode", "mode \"network\" is a libvirt network and needs the libvirt backend",
                          fix: "set backend = \"libvirt\", or use mode = \"bridge\"")
        }
        if case .libvirt = spec.backend, let index = spec.gpus.firstIndex(where: { $0.hostRelease != nil }) {
            issues.report("gpu[\(index)].host", "host = \"release\" works with the QEMU backend only "
                          + "(under libvirt, libvirtd ends the VM and vm would not be there to give the host its display back)",
                          fix: "set backend = \"qemu\", or remove host = \"release\"")
        }
        if spec.firmware.secureBoot, spec.firmware.kind == .bios {
            issues.report("firmware.secure_boot", "secure boot needs UEFI firmware", fix: "set type = \"ovmf\" or remove secure_boot")
        }
        if !issues.issues.isEmpty { throw DefinitionError(issues: issues.issues) }
        return spec
    }

    /// `/etc/vm/win11.toml` -> `win11`
    public static func stem(of path: String) -> String {
        let base = path.split(separator: "/").last.map(String.init) ?? path
        return base.hasSuffix(".toml") ? String(base.dropLast(5)) : base
    }

    /// Relative paths are relative to the definition file's folder.
    func resolved(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        if path.hasPrefix("~/"), let home = homeDirectory() { return home + path.dropFirst(1) }
        guard let slash = file.lastIndex(of: "/") else { return path }
        return String(file[...slash]) + path
    }

    /// Resolves a path key and checks that it names a usable file.
    private func existingPath(_ reader: TableReader, _ key: String, what: String, example: String) -> String? {
        guard let text = reader.string(key, example: example) else { return nil }
        let path = resolved(text)
        if let problem = fileProblem(path) {
            reader.issues.report(reader.keyPath(key), "\(what) '\(path)' \(problem.description)", fix: problem.fix)
        }
        return path
    }

    private func backend(_ top: TableReader) -> Backend {
        let uri = top.string("libvirt_uri", example: "\"qemu:///system\"")
        switch top.string("backend", example: "\"qemu\"") {
        case nil, "qemu":
            if uri != nil {
                top.issues.report("libvirt_uri", "libvirt_uri is only used with the libvirt backend", fix: "set backend = \"libvirt\" or remove libvirt_uri")
            }
            return .qemu
        case "libvirt":
            return .libvirt(uri: uri ?? "qemu:///system")
        case let other?:
            top.issues.report("backend", "'\(other)' is not a backend", fix: "write backend = \"qemu\" or backend = \"libvirt\"")
            return .qemu
        }
    }

    /// `memory = 8192` (MiB) or `memory = "8G"` / `"512M"` / `"16GiB"`.
    private func memoryMiB(_ top: TableReader) -> Int? {
        guard let node = top.value("memory") else { return nil }
        let fix = "write memory = \"8G\", \"512M\" or a number of MiB"
        let mib: Int
        switch node {
        case .integer(let value):
            mib = value
        case .string(let text):
            guard let parsed = Self.parseSize(text) else {
                top.issues.report("memory", "'\(text)' is not a size", fix: fix)
                return nil
            }
            mib = parsed
        default:
            top.issues.report("memory", "expected a size, found \(node.typeName)", fix: fix)
            return nil
        }
        guard (128...16_777_216).contains(mib) else {
            top.issues.report("memory", "\(mib) MiB is out of range", fix: "give at least 128M")
            return nil
        }
        return mib
    }

    /// `"8G"` -> 8192; `"512M"`, `"512MiB"`, `"1T"`; nil when malformed.
    static func parseSize(_ text: String) -> Int? {
        var digits = text.trimming(" ")
        var factor = 1
        for (suffix, multiplier) in [("TiB", 1 << 20), ("GiB", 1024), ("MiB", 1), ("T", 1 << 20), ("G", 1024), ("M", 1)]
            where digits.hasSuffix(suffix) {
            digits = String(digits.dropLast(suffix.count)).trimming(" ")
            factor = multiplier
            break
        }
        guard let value = Int(digits), value > 0 else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: factor)
        return overflow ? nil : product
    }

    /// `hugepages = "2M"`, `"1G"`, or `true` (2M).
    private func hugepages(_ top: TableReader) -> HugePageSize? {
        guard let node = top.value("hugepages") else { return nil }
        if case .boolean = node { return top.boolean("hugepages") == true ? .twoMiB : nil }
        return top.choice("hugepages", of: HugePageSize.self)
    }

    private func cpu(_ reader: TableReader) -> CPUSpec {
        reader.rejectUnknownKeys(["model", "sockets", "cores", "threads", "pin", "isolate", "realtime"])
        var cpu = CPUSpec()
        if let model = reader.string("model", example: "\"host\"") { cpu.model = model }
        if let sockets = reader.integer("sockets", range: 1...8) { cpu.sockets = sockets }
        if let cores = reader.integer("cores", range: 1...256, example: "4") { cpu.cores = cores }
        if let threads = reader.integer("threads", range: 1...4, example: "2") { cpu.threads = threads }
        cpu.pin = pinning(reader, vcpus: cpu.count)
        let needsPins = ["isolate": "isolate keeps other tasks off the pinned CPUs", "realtime": "realtime runs the pinned vCPU threads with SCHED_FIFO"]
        for (key, what) in needsPins.sorted(by: { $0.key < $1.key }) where reader.boolean(key) == true && cpu.pin == nil {
            reader.issues.report("cpu.\(key)", "\(what), and nothing is pinned", fix: "add pin = \"auto\" (or [cpu.pin] lists) under [cpu]")
        }
        cpu.isolate = reader.boolean("isolate") == true
        cpu.realtime = reader.boolean("realtime") == true
        return cpu
    }

    /// `pin = "auto"`, or a `[cpu.pin]` table with `vcpus` (one host CPU per vCPU), `emulator`
    /// and `iothreads`.
    private func pinning(_ reader: TableReader, vcpus: Int) -> CPUPinning? {
        guard let node = reader.value("pin") else { return nil }
        if case .string = node {
            guard reader.string("pin") == "auto" else {
                reader.issues.report("cpu.pin", "pin takes \"auto\" or a [cpu.pin] table",
                              fix: "write pin = \"auto\", or [cpu.pin] with vcpus = [2, 3], emulator = [0, 1]")
                return nil
            }
            return .auto
        }
        guard let table = reader.table("pin") else { return nil }
        table.rejectUnknownKeys(["vcpus", "emulator", "iothreads"])
        let cpus = 0...4095
        guard let list = table.integerArray("vcpus", range: cpus, example: "[2, 3, 4, 5]") else {
            if table.value("vcpus") == nil {
                reader.issues.report("cpu.pin", "[cpu.pin] needs vcpus, the host CPU of each vCPU", fix: "add vcpus = [...] with one host CPU for each of the \(vcpus) vCPUs")
            }
            return nil
        }
        guard list.count == vcpus else {
            reader.issues.report("cpu.pin.vcpus", "lists \(list.count) host CPUs for \(vcpus) vCPUs (sockets x cores x threads)",
                          fix: "give one host CPU per vCPU, or change cores/threads to match")
            return nil
        }
        return .explicit(CPUPins(vcpus: list,
                                 emulator: table.integerArray("emulator", range: cpus, example: "[0, 1]") ?? [],
                                 iothreads: table.integerArray("iothreads", range: cpus, example: "[0, 1]") ?? []))
    }

    private func firmware(_ reader: TableReader) -> FirmwareSpec {
        reader.rejectUnknownKeys(["type", "code", "vars_template", "secure_boot"])
        var firmware = FirmwareSpec()
        if let kind = reader.choice("type", of: FirmwareSpec.Kind.self) { firmware.kind = kind }
        firmware.code = existingPath(reader, "code", what: "OVMF code image", example: "\"/usr/share/OVMF/OVMF_CODE_4M.fd\"")
        firmware.varsTemplate = existingPath(reader, "vars_template", what: "OVMF vars template", example: "\"/usr/share/OVMF/OVMF_VARS_4M.fd\"")
        if let secure = reader.boolean("secure_boot") { firmware.secureBoot = secure }
        return firmware
    }

    private func kernelBoot(_ reader: TableReader) -> KernelBoot? {
        reader.rejectUnknownKeys(["kernel", "initrd", "append"])
        guard let kernel = existingPath(reader, "kernel", what: "kernel", example: "\"/boot/vmlinuz\"") else {
            reader.issues.report(reader.path, "[boot] needs a kernel", fix: "add kernel = \"/path/to/vmlinuz\" or remove [boot]")
            return nil
        }
        return KernelBoot(kernel: kernel,
                          initrd: existingPath(reader, "initrd", what: "initrd", example: "\"/boot/initrd.img\""),
                          append: reader.string("append", example: "\"console=ttyS0\""))
    }

    private func disk(_ reader: TableReader) -> DiskSpec? {
        reader.rejectUnknownKeys(["path", "format", "bus", "cache", "readonly"])
        guard let path = existingPath(reader, "path", what: "disk image", example: "\"/var/lib/vm/win11.qcow2\"") else {
            reader.issues.report(reader.path, "a [[disk]] needs a path", fix: "add path = \"/path/to/image.qcow2\"")
            return nil
        }
        var disk = DiskSpec(path: path)
        if let format = reader.choice("format", of: DiskSpec.Format.self) {
            disk.format = format
        } else if reader.value("format") == nil, path.hasSuffix(".img") || path.hasSuffix(".raw") {
            disk.format = .raw
        }
        if let bus = reader.choice("bus", of: DiskSpec.Bus.self) { disk.bus = bus }
        if let cache = reader.choice("cache", of: DiskSpec.Cache.self) { disk.cache = cache }
        if let readOnly = reader.boolean("readonly") { disk.readOnly = readOnly }
        return disk
    }

    private func cdrom(_ reader: TableReader) -> CDROMSpec? {
        reader.rejectUnknownKeys(["path"])
        guard let path = existingPath(reader, "path", what: "CD-ROM image", example: "\"/isos/virtio-win.iso\"") else {
            reader.issues.report(reader.path, "a [[cdrom]] needs a path", fix: "add path = \"/path/to/image.iso\"")
            return nil
        }
        return CDROMSpec(path: path)
    }

    private func gpus(_ readers: [TableReader], issues: IssueCollector) -> [GPUPassthrough] {
        var seen: [PCIAddress: String] = [:]
        var seenSlots: [PCISlot: String] = [:]
        var releasedBy: String?
        return readers.compactMap { reader -> GPUPassthrough? in
            guard let gpu = gpu(reader) else { return nil }
            for function in gpu.functions {
                if let other = seen[function] {
                    issues.report(reader.keyPath("functions"), "function \(function) is already passed through by \(other)",
                                  fix: "list each PCI function once")
                }
                seen[function] = reader.path
            }
            if gpu.hostRelease != nil, let other = releasedBy {
                issues.report(reader.keyPath("host"), "only one GPU can be the host's display; \(other) is already released",
                              fix: "set host = \"release\" on the card that drives the desktop only")
            }
            if gpu.hostRelease != nil { releasedBy = releasedBy ?? reader.path }
            if let slot = gpu.slot {
                if let other = seenSlots[slot] {
                    issues.report(reader.keyPath("address"), "slot \(slot) is already passed through by \(other)",
                                  fix: "list each GPU once")
                }
                seenSlots[slot] = reader.path
            }
            return gpu
        }
    }

    private func gpu(_ reader: TableReader) -> GPUPassthrough? {
        reader.rejectUnknownKeys(["address", "functions", "display", "rom", "x_vga", "plug", "device", "host",
                                  "display_manager", "display_manager_stop", "display_manager_start", "unload_nvidia", "holder_timeout"])
        let addressFix = "write the slot as DDDD:BB:SS, e.g. \"0000:05:00\" (see `vm gpu list`)"
        let functionFix = "write functions as DDDD:BB:SS.F, e.g. [\"0000:05:00.0\", \"0000:05:00.1\"]"
        var slot: PCISlot?
        if let text = reader.string("address", example: "\"0000:05:00\"") {
            slot = PCISlot(text)
            if slot == nil {
                if PCIAddress(text) != nil {
                    reader.issues.report(reader.keyPath("address"), "'\(text)' is a function, not a slot",
                                         fix: "drop the .F to pass every function, or use functions = [\"\(text)\"]")
                } else {
                    reader.issues.report(reader.keyPath("address"), "'\(text)' is not a PCI slot", fix: addressFix)
                }
                return nil
            }
        }
        var functions: [PCIAddress] = []
        if let texts = reader.stringArray("functions", example: "[\"0000:05:00.0\", \"0000:05:00.1\"]") {
            for text in texts {
                guard let function = PCIAddress(text) else {
                    reader.issues.report(reader.keyPath("functions"), "'\(text)' is not a PCI function address", fix: functionFix)
                    return nil
                }
                if functions.contains(function) {
                    reader.issues.report(reader.keyPath("functions"), "function \(function) is listed twice", fix: "list each PCI function once")
                    return nil
                }
                functions.append(function)
            }
            if Set(functions.map(\.pciSlot)).count > 1 {
                reader.issues.report(reader.keyPath("functions"), "the functions are on different slots",
                                     fix: "list the functions of one GPU only; add another [[gpu]] for another card")
                return nil
            }
            if let slot, let stray = functions.first(where: { $0.pciSlot != slot }) {
                reader.issues.report(reader.keyPath("functions"), "function \(stray) is not on slot \(slot)",
                                     fix: "give functions of \(slot) only, or drop address")
                return nil
            }
        }
        if slot == nil, functions.isEmpty {
            reader.issues.report(reader.path, "a [[gpu]] needs address or functions",
                                 fix: "add address = \"0000:05:00\" (every function of the slot)")
            return nil
        }
        var gpu = GPUPassthrough(slot: slot ?? functions.first?.pciSlot, functions: functions)
        if let text = reader.string("display", example: "\"0000:05:00.0\"") {
            guard let display = PCIAddress(text) else {
                reader.issues.report(reader.keyPath("display"), "'\(text)' is not a PCI function address", fix: functionFix)
                return nil
            }
            let belongs = functions.isEmpty ? display.pciSlot == gpu.slot : functions.contains(display)
            if !belongs {
                reader.issues.report(reader.keyPath("display"), "display function \(display) is not one of this GPU's functions",
                                     fix: "name one of the functions passed through")
                return nil
            }
            gpu.displayFunction = display
        }
        gpu.romFile = existingPath(reader, "rom", what: "ROM file", example: "\"/var/lib/vm/gpu.rom\"")
        if let xVGA = reader.boolean("x_vga") { gpu.xVGA = xVGA }
        if let plug = reader.choice("plug", of: GPUPassthrough.Plug.self) { gpu.plug = plug }
        if let device = reader.choice("device", of: PassthroughDevice.self) { gpu.device = device }
        gpu.hostRelease = hostRelease(reader, gpu: gpu)
        return gpu
    }

    /// The GPU's host use, `keep` (default) or `release`; the release keys belong to `release` only.
    private enum HostUse: String, CaseIterable { case keep, release }

    private func hostRelease(_ reader: TableReader, gpu: GPUPassthrough) -> HostReleaseOptions? {
        let releaseKeys = ["display_manager", "display_manager_stop", "display_manager_start", "unload_nvidia", "holder_timeout"]
        guard reader.choice("host", of: HostUse.self) == .release else {
            for key in releaseKeys where reader.value(key) != nil {
                reader.issues.report(reader.keyPath(key), "\(key) only applies to a GPU the host gives up",
                                     fix: "set host = \"release\" on this [[gpu]], or remove \(key)")
            }
            return nil
        }
        if gpu.device != .vfioPCI {
            reader.issues.report(reader.keyPath("host"), "a stand-in GPU has no host side to release",
                                 fix: "remove host = \"release\", or pass the real card (device = \"vfio-pci\")")
        }
        var options = HostReleaseOptions()
        let stop = reader.stringArray("display_manager_stop", example: "[\"/usr/local/bin/desktop\", \"stop\"]")
        let start = reader.stringArray("display_manager_start", example: "[\"/usr/local/bin/desktop\", \"start\"]")
        if let name = reader.string("display_manager", example: "\"gdm.service\"") {
            switch name {
            case "auto": options.displayManager = .detect
            case "none": options.displayManager = .none
            case _ where name.hasSuffix(".service") && !name.contains("/") && name.count > ".service".count:
                options.displayManager = .unit(name)
            default:
                reader.issues.report(reader.keyPath("display_manager"), "'\(name)' is not a systemd service",
                                     fix: "use \"auto\" (the display-manager.service link), \"none\", or a unit such as \"gdm.service\"")
            }
        }
        switch (stop, start) {
        case (nil, nil): break
        case let (stop?, start?) where !stop.isEmpty && !start.isEmpty:
            if reader.value("display_manager") != nil {
                reader.issues.report(reader.keyPath("display_manager"), "display_manager and display_manager_stop/start both say how to stop the desktop",
                                     fix: "keep either the unit or the two commands")
            }
            options.displayManager = .commands(stop: stop, start: start)
        default:
            reader.issues.report(reader.keyPath(stop == nil || stop?.isEmpty == true ? "display_manager_stop" : "display_manager_start"),
                                 "the desktop needs both a stop and a start command",
                                 fix: "set display_manager_stop and display_manager_start, each a non-empty array of program and arguments")
        }
        if let unload = reader.boolean("unload_nvidia") { options.unloadNVIDIA = unload }
        if let seconds = reader.integer("holder_timeout", range: 1...600, example: "10") { options.holderTimeout = .seconds(seconds) }
        return options
    }

    private func windows(_ reader: TableReader) -> WindowsFeatures {
        reader.rejectUnknownKeys(["hyperv", "vendor_id", "kvm_hidden", "smbios"])
        var windows = WindowsFeatures()
        if let hyperV = reader.boolean("hyperv") { windows.hyperV = hyperV }
        if let vendor = reader.string("vendor_id", example: "\"1234567890ab\"") {
            if vendor.isEmpty || vendor.count > 12 || !vendor.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
                reader.issues.report(reader.keyPath("vendor_id"), "'\(vendor)' is not a Hyper-V vendor id",
                                     fix: "use 1 to 12 ASCII letters or digits, e.g. \"1234567890ab\"")
            } else {
                windows.hvVendorID = vendor
            }
        }
        if let hidden = reader.boolean("kvm_hidden") { windows.kvmHidden = hidden }
        if let smbios = reader.string("smbios", example: "\"host\"") {
            if smbios == "host" {
                windows.smbiosFromHost = true
            } else {
                reader.issues.report(reader.keyPath("smbios"), "'\(smbios)' is not an SMBIOS source", fix: "write smbios = \"host\", or remove it for QEMU's own")
            }
        }
        return windows
    }

    private func tpm(_ reader: TableReader) -> TPMSpec {
        reader.rejectUnknownKeys(["enabled"])
        guard let enabled = reader.boolean("enabled") else {
            // A misspelt key is reported as such already.
            if reader.entries.isEmpty {
                reader.issues.report(reader.path, "[tpm] needs enabled", fix: "add enabled = true (Windows 11 needs a TPM 2.0), or remove [tpm]")
            }
            return TPMSpec()
        }
        return TPMSpec(enabled: enabled)
    }

    private func network(_ reader: TableReader, name: VMName) -> NetworkSpec {
        reader.rejectUnknownKeys(["mode", "bridge", "parent", "network", "mac", "model"])
        var network = NetworkSpec(mac: MACAddress.derived(from: name))
        if let mode = reader.choice("mode", of: NetworkSpec.Mode.self) { network.mode = mode }
        network.bridge = reader.string("bridge", example: "\"br0\"")
        network.parent = reader.string("parent", example: "\"enp3s0\"")
        network.libvirtNetwork = reader.string("network", example: "\"default\"")
        for (key, value, mode) in [("bridge", network.bridge, NetworkSpec.Mode.bridge),
                                   ("parent", network.parent, .macvtap), ("network", network.libvirtNetwork, .network)] {
            if let value {
                if !Self.isInterfaceName(value) {
                    reader.issues.report(reader.keyPath(key), "'\(value)' is not a valid interface name",
                                         fix: "use up to 15 letters, digits, '-', '_' or '.'")
                }
                if network.mode != mode {
                    reader.issues.report(reader.keyPath(key), "\(key) is only used with mode = \"\(mode.rawValue)\"",
                                         fix: "set mode = \"\(mode.rawValue)\" or remove \(key)")
                }
            } else if network.mode == mode {
                let example = ["bridge": "\"br0\"", "parent": "\"enp3s0\"", "network": "\"default\""][key]!
                reader.issues.report(reader.keyPath("mode"), "mode \"\(mode.rawValue)\" needs \(key)", fix: "add \(key) = \(example)")
            }
        }
        if let text = reader.string("mac", example: "\"52:54:00:12:34:56\"") {
            if let mac = MACAddress(text), !mac.isMulticast {
                network.mac = mac
            } else {
                reader.issues.report(reader.keyPath("mac"), "'\(text)' is not a unicast MAC address",
                                     fix: "write six hex bytes like \"52:54:00:12:34:56\" (first byte even)")
            }
        }
        if let model = reader.string("model", example: "\"virtio-net-pci\"") { network.model = model }
        return network
    }

    /// Linux interface names: 1 to 15 characters, no `/`, white space or `:`.
    static func isInterfaceName(_ name: String) -> Bool {
        (1...15).contains(name.count) && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }

    private func display(_ reader: TableReader) -> DisplaySpec {
        reader.rejectUnknownKeys(["type", "vnc"])
        var display = DisplaySpec()
        if let kind = reader.choice("type", of: DisplaySpec.Kind.self) { display.kind = kind }
        if let vnc = reader.string("vnc", example: "\"127.0.0.1:0\"") {
            if display.kind == .none {
                reader.issues.report(reader.keyPath("vnc"), "vnc needs an emulated display", fix: "set type = \"std\" or remove vnc")
            }
            display.vnc = vnc
        } else if display.kind != .none {
            display.vnc = DisplaySpec.defaultVNC
        }
        return display
    }
}

/// `$HOME` of this process.
func homeDirectory() -> String? {
    ProcessEnvironment.current["HOME"]
}

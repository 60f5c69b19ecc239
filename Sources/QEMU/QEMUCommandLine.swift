import FoundationEssentials
import Glibc
import Network
import VMCore

/// Why a definition cannot be turned into a command line yet.
public enum QEMUCommandLineError: Error, Equatable, CustomStringConvertible {
    /// OVMF firmware paths were not resolved (see `VMSpec.resolvedForLaunch`).
    case firmwareUnresolved
    /// A GPU given as a slot was not expanded to its functions.
    case gpuFunctionsUnresolved(PCISlot?)

    public var description: String {
        switch self {
        case .firmwareUnresolved:
            return "no OVMF firmware found; install the `ovmf` package or set [firmware] code and vars_template"
        case .gpuFunctionsUnresolved(let slot):
            return "the functions of GPU \(slot.map(\.description) ?? "?") are unknown; is the card present on this host?"
        }
    }
}

/// What the command line needs beyond the definition.
public struct LaunchOptions: Sendable, Equatable {
    /// Start with the CPUs stopped (`-S`).
    public var paused: Bool = false
    /// The extras ISO (`vm extras stage`) to attach as one more CD-ROM; set when the file exists.
    public var extrasISO: String?
    public init(paused: Bool = false, extrasISO: String? = nil) {
        self.paused = paused
        self.extrasISO = extrasISO
    }
}

extension VMPaths {
    /// The extras ISO that `vm extras stage` writes and `vm up` attaches as a CD-ROM.
    public var extrasISO: String { "\(stateDirectory)/extras.iso" }
}

/// The id of the root port that holds GPU `index` (cold or hot).
public func gpuRootPortID(_ index: Int) -> String { "rp-gpu\(index)" }

/// The QEMU device id of one passed-through function, e.g. `gpu0-f1`.
public func gpuFunctionID(gpu index: Int, function: PCIAddress) -> String { "gpu\(index)-f\(function.function)" }

/// Builds QEMU's argument vector from a resolved definition. Pure: same input, same output.
public enum QEMUCommandLine {
    /// The binary this command line is for.
    public static let executable = "qemu-system-x86_64"

    /// The whole argv, without the executable.
    public static func arguments(for spec: VMSpec, paths: VMPaths, options: LaunchOptions = LaunchOptions()) throws(QEMUCommandLineError) -> [String] {
        var args: [String] = [
            "-name", "guest=\(spec.name),process=vm-\(spec.name)",
            "-nodefaults", "-no-user-config",
            "-machine", machine(spec),
            "-cpu", cpu(spec),
            "-smp", "\(spec.cpu.count),sockets=\(spec.cpu.sockets),cores=\(spec.cpu.cores),threads=\(spec.cpu.threads)",
            "-m", "\(spec.memoryMiB)",
        ]
        if let size = spec.hugepages {
            // memfd with hugetlb needs no hugetlbfs mount for the page size (1G pages rarely have one).
            args += ["-object", "memory-backend-memfd,id=mem0,size=\(spec.memoryMiB)M,hugetlb=on,hugetlbsize=\(size.rawValue),share=on,prealloc=on"]
        }
        args += try firmware(spec, paths: paths)
        for type in [1, 2] {
            let fields = spec.windows.smbios.filter { $0.type == type }
            if !fields.isEmpty { args += ["-smbios", (["type=\(type)"] + fields.map { "\($0.name)=\(escape($0.value))" }).joined(separator: ",")] }
        }
        if let boot = spec.kernelBoot {
            args += ["-kernel", boot.kernel]
            if let initrd = boot.initrd { args += ["-initrd", initrd] }
            if let append = boot.append { args += ["-append", append] }
        }
        args += try rootPortsAndGPUs(spec)
        args += disks(spec, extrasISO: options.extrasISO)
        args += network(spec)
        args += display(spec)
        args += tpm(spec, paths: paths)
        args += desk(spec)
        args += [
            "-chardev", "socket,id=serial0,path=\(escape(paths.consoleSocket)),server=on,wait=off,logfile=\(escape(paths.serialLog))",
            "-serial", "chardev:serial0",
            "-chardev", "socket,id=qmp0,path=\(escape(paths.monitorSocket)),server=on,wait=off",
            "-mon", "chardev=qmp0,mode=control",
        ]
        if spec.guestAgent {
            args += [
                "-device", "virtio-serial-pci,id=vser0",
                "-chardev", "socket,id=qga0,path=\(escape(paths.agentSocket)),server=on,wait=off",
                "-device", "virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0",
            ]
        }
        args += ["-pidfile", paths.pidFile]
        if options.paused { args.append("-S") }
        return args + spec.extraQEMUArguments
    }

    /// Doubles commas, as QEMU requires inside a `key=value,...` option.
    public static func escape(_ value: String) -> String {
        // Plain Swift rather than Foundation's replacingOccurrences, which goes through NSString.
        value.contains(",") ? value.split(separator: ",", omittingEmptySubsequences: false).joined(separator: ",,") : value
    }

    static func machine(_ spec: VMSpec) -> String {
        var parts = [spec.machine, "accel=\(spec.accelerator.rawValue)"]
        if spec.firmware.secureBoot { parts.append("smm=on") }
        if spec.hugepages != nil { parts.append("memory-backend=mem0") }
        return parts.joined(separator: ",")
    }

    static func cpu(_ spec: VMSpec) -> String {
        // `host` needs KVM; under TCG the closest is `max`.
        var parts = [spec.accelerator == .tcg && spec.cpu.model == "host" ? "max" : spec.cpu.model]
        if spec.cpu.topoext, spec.accelerator == .kvm { parts.append("topoext=on") }
        if spec.windows.kvmHidden { parts.append("kvm=off") }
        if spec.windows.hyperV {
            let flags = ["hv_relaxed", "hv_vapic", "hv_spinlocks=0x1fff", "hv_vpindex", "hv_synic", "hv_stimer",
                         "hv_time", "hv_reset", "hv_frequencies"]
            // QEMU refuses hv_vpindex under TCG ("kernel doesn't allow setting HyperV VP_INDEX"),
            // and the synthetic interrupt controller and its timers build on it.
            let kvmOnly: Set = ["hv_vpindex", "hv_synic", "hv_stimer"]
            parts += spec.accelerator == .kvm ? flags : flags.filter { !kvmOnly.contains($0) }
        }
        if let vendor = spec.windows.hvVendorID { parts.append("hv_vendor_id=\(vendor)") }
        return parts.joined(separator: ",")
    }

    static func firmware(_ spec: VMSpec, paths: VMPaths) throws(QEMUCommandLineError) -> [String] {
        guard spec.firmware.kind == .ovmf else { return [] }
        guard let code = spec.firmware.code else { throw .firmwareUnresolved }
        var args = [
            "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=\(escape(code))",
            "-drive", "if=pflash,format=raw,unit=1,file=\(escape(paths.varsFile))",
        ]
        if spec.firmware.secureBoot {
            args += ["-global", "driver=cfi.pflash01,property=secure,value=on"]
        }
        return args
    }

    /// One `pcie-root-port` per GPU plus the spare ones, each with its own chassis/slot; the GPU
    /// functions plugged at boot go on their port, other functions first and function 0 last with
    /// `multifunction=on`. Ports for hot GPUs reserve prefetchable memory for large BARs.
    static func rootPortsAndGPUs(_ spec: VMSpec) throws(QEMUCommandLineError) -> [String] {
        var args: [String] = []
        args += spec.nativeHotplugArguments
        var chassis = 0
        for (index, gpu) in spec.gpus.enumerated() {
            guard !gpu.functions.isEmpty else { throw .gpuFunctionsUnresolved(gpu.slot) }
            chassis += 1
            var port = "pcie-root-port,id=\(gpuRootPortID(index)),chassis=\(chassis),slot=\(chassis)"
            // OVMF sizes the 64-bit window for a GPU that arrives later; SeaBIOS cannot place
            // such a window and then hangs before the guest boots, so BIOS guests get none.
            if gpu.plug == .hot, spec.firmware.kind == .ovmf { port += ",pref64-reserve=\(hotGPUPrefetchReserve)" }
            args += ["-device", port]
            if gpu.plug == .boot {
                for device in gpuDevices(gpu, index: index) { args += ["-device", device.commandLineValue] }
            }
        }
        for spare in 0..<spec.spareRootPorts {
            chassis += 1
            args += ["-device", "pcie-root-port,id=rp-spare\(spare),chassis=\(chassis),slot=\(chassis)"]
        }
        return args
    }

    /// Prefetchable 64-bit window reserved on a port that will receive a GPU while running.
    public static let hotGPUPrefetchReserve = "16G"

    /// The devices of one GPU in plug order (function 0 last), as `device_add` properties.
    public static func gpuDevices(_ gpu: GPUPassthrough, index: Int) -> [GPUFunctionDevice] {
        let display = gpu.primaryFunction
        let ordered = gpu.functions.filter { $0.function != 0 } + gpu.functions.filter { $0.function == 0 }
        return ordered.map { function in
            var properties: [(String, String)] = []
            let isDisplay = function == display
            switch gpu.device {
            case .vfioPCI:
                properties.append(("host", function.description))
            case .standIn:
                break
            }
            properties += [("id", gpuFunctionID(gpu: index, function: function)), ("bus", gpuRootPortID(index)),
                           ("addr", "0.\(function.function)")]
            if function.function == 0 { properties.append(("multifunction", "on")) }
            if isDisplay, gpu.device == .vfioPCI {
                if gpu.xVGA { properties.append(("x-vga", "on")) }
                if let rom = gpu.romFile { properties.append(("romfile", rom)) }
            }
            let driver: String
            switch gpu.device {
            case .vfioPCI: driver = "vfio-pci"
            case .standIn: driver = isDisplay ? "secondary-vga" : "ES1370"
            }
            return GPUFunctionDevice(function: function, driver: driver, properties: properties)
        }
    }

    /// The block-backend id of the extras CD-ROM.
    public static let extrasDriveID = "cd-extras"

    static func disks(_ spec: VMSpec, extrasISO: String? = nil) -> [String] {
        var args: [String] = []
        var sataPort = 0
        // Disks boot first, then the CD-ROMs; the other way round when installing.
        let diskBootBase = spec.installing ? spec.cdroms.count : 0
        let cdromBootBase = spec.installing ? 0 : spec.disks.count
        for (index, disk) in spec.disks.enumerated() {
            var drive = "file=\(escape(disk.path)),if=none,id=disk\(index),format=\(disk.format.rawValue),cache=\(disk.cache.rawValue),discard=unmap"
            if disk.readOnly { drive += ",readonly=on" }
            args += ["-drive", drive]
            let boot = diskBootBase + index + 1
            switch disk.bus {
            case .virtio: args += ["-device", "virtio-blk-pci,drive=disk\(index),bootindex=\(boot)"]
            case .nvme: args += ["-device", "nvme,drive=disk\(index),serial=vm-disk\(index),bootindex=\(boot)"]
            case .sata:
                args += ["-device", "ide-hd,drive=disk\(index),bus=ide.\(sataPort),bootindex=\(boot)"]
                sataPort += 1
            }
        }
        for (index, cdrom) in spec.cdroms.enumerated() {
            args += ["-drive", "file=\(escape(cdrom.path)),if=none,id=cd\(index),media=cdrom,readonly=on",
                     "-device", "ide-cd,drive=cd\(index),bus=ide.\(sataPort),bootindex=\(cdromBootBase + index + 1)"]
            sataPort += 1
        }
        if let extrasISO {
            args += ["-drive", "file=\(escape(extrasISO)),if=none,id=\(extrasDriveID),media=cdrom,readonly=on",
                     "-device", "ide-cd,drive=\(extrasDriveID),id=\(extrasDriveID)-dev,bus=ide.\(sataPort)"]
        }
        return args
    }

    /// QEMU's TPM 2.0 for `[tpm] enabled`: a `tpm-crb` device (what Windows 11 and Linux expect
    /// on q35) backed by the emulator on ``VMPaths/tpmSocket`` (``TPMEmulator``).
    static func tpm(_ spec: VMSpec, paths: VMPaths) -> [String] {
        guard spec.tpm.enabled else { return [] }
        return ["-chardev", "socket,id=chrtpm,path=\(escape(paths.tpmSocket))",
                "-tpmdev", "emulator,id=tpm0,chardev=chrtpm",
                "-device", "tpm-crb,tpmdev=tpm0"]
    }

    static func network(_ spec: VMSpec) -> [String] {
        let netdev: String
        switch spec.network.mode {
        case .none, .network: return []
        case .user: netdev = "user,id=net0"
        case .bridge: netdev = "bridge,id=net0,br=\(escape(spec.network.bridge ?? ""))"
        case .macvtap:
            // QEMU cannot inherit the /dev/tapN descriptor through our launcher: it starts paused
            // and gets the descriptor, the netdev and the NIC over QMP (MacvtapNIC.attach) on
            // this port (no device can be added to pcie.0 once QEMU runs).
            let chassis = spec.gpus.count + spec.spareRootPorts + 1
            return ["-device", "pcie-root-port,id=\(MacvtapNIC.rootPortID),chassis=\(chassis),slot=\(chassis)"]
        }
        return ["-netdev", netdev, "-device", "\(spec.network.model),netdev=net0,mac=\(spec.network.mac)"]
    }

    static func display(_ spec: VMSpec) -> [String] {
        switch spec.display.kind {
        case .none: return ["-display", "none"]
        case .std: return ["-device", "VGA", "-display", "none"] + vnc(spec.display)
        case .virtio: return ["-device", "virtio-vga", "-display", "none"] + vnc(spec.display)
        }
    }

    /// `-vnc` for an emulated display that has one (the parser gives it ``DisplaySpec/defaultVNC``
    /// unless the definition names another).
    static func vnc(_ display: DisplaySpec) -> [String] {
        display.vnc.map { ["-vnc", $0] } ?? []
    }
}

/// One function of a passed-through GPU as a QEMU device.
public struct GPUFunctionDevice: Sendable, Equatable {
    /// The host function (or the stand-in's place).
    public let function: PCIAddress
    /// `vfio-pci`, or the stand-in's emulated device.
    public let driver: String
    /// Properties in command-line order (`id`, `bus`, `addr`, ...).
    public let properties: [(String, String)]

    public static func == (lhs: GPUFunctionDevice, rhs: GPUFunctionDevice) -> Bool {
        lhs.function == rhs.function && lhs.driver == rhs.driver
            && lhs.properties.map { "\($0)=\($1)" } == rhs.properties.map { "\($0)=\($1)" }
    }

    /// The device id.
    public var id: String { properties.first { $0.0 == "id" }?.1 ?? "" }

    /// `vfio-pci,host=...,id=...` for `-device`.
    public var commandLineValue: String {
        ([driver] + properties.map { "\($0)=\(QEMUCommandLine.escape($1))" }).joined(separator: ",")
    }
}

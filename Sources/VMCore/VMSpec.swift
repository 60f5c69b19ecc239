import FoundationEssentials
import Glibc

/// A validated VM definition: everything `vm` needs to build a QEMU command line or a libvirt
/// domain. Made by ``DefinitionParser`` from a TOML file; every field has the default a user of a
/// GPU-passthrough VM expects.
public struct VMSpec: Sendable, Equatable {
    public var name: VMName
    /// QEMU machine type (`q35`).
    public var machine: String = "q35"
    public var accelerator: Accelerator = .kvm
    public var backend: Backend = .qemu
    public var cpu: CPUSpec = CPUSpec()
    /// Guest memory in MiB.
    public var memoryMiB: Int = 4096
    /// Back guest memory with huge pages of this size, reserved for the VM's lifetime; nil: normal pages.
    public var hugepages: HugePageSize?
    public var firmware: FirmwareSpec = FirmwareSpec()
    /// Direct kernel boot, for Linux test guests.
    public var kernelBoot: KernelBoot?
    public var disks: [DiskSpec] = []
    public var cdroms: [CDROMSpec] = []
    public var gpus: [GPUPassthrough] = []
    public var windows: WindowsFeatures = WindowsFeatures()
    /// An emulated TPM 2.0 (`[tpm]`), which Windows 11 setup requires.
    public var tpm: TPMSpec = TPMSpec()
    public var network: NetworkSpec
    public var display: DisplaySpec = DisplaySpec()
    /// Where the orchestrator's QMP socket lives; nil = the runtime folder.
    public var qmpSocket: String?
    /// Add the QEMU guest agent channel (virtio-serial `org.qemu.guest_agent.0`).
    public var guestAgent: Bool = false
    /// Free `pcie-root-port`s kept for hot-plug beyond those a hot GPU needs.
    public var spareRootPorts: Int = 1
    /// Who tells the guest about a device plugged or unplugged while it runs (q35 only).
    public var hotplug: PCIHotplug = .acpi
    /// Looking Glass (IVSHMEM shared memory for the host's client); nil: none.
    public var lookingGlass: LookingGlassSpec?
    /// Host keyboards, mice and controllers given to the guest through evdev.
    public var inputs: [EvdevInput] = []
    /// The emulated devices through which the `inputs` reach the guest.
    public var inputBus: InputBus = .virtio
    /// Whether the guest gets a virtio keyboard and mouse for the `inputs` (there are some, and
    /// `inputBus` is virtio); both backends' builders go by it.
    public var hasVirtioInput: Bool { !inputs.isEmpty && inputBus == .virtio }
    /// Host USB devices given to the guest at boot.
    public var usbDevices: [USBDevice] = []
    /// An xHCI controller even without `[[usb]]` devices, for `vm usb attach` while the VM runs.
    public var usbController: Bool = false
    /// Host USB controllers given to the guest whole, as PCI functions through VFIO.
    public var usbHostControllers: [USBHostController] = []
    /// An emulated sound card on the host's sound server; nil: none.
    public var audio: AudioSpec?
    /// Arguments appended to QEMU's command line as they are (an escape hatch).
    public var extraQEMUArguments: [String] = []
    /// Boot the CD-ROMs before the disks: set by `vm up --install` (``forInstallation()``),
    /// never by the file.
    public var installing: Bool = false

    public init(name: VMName) {
        self.name = name
        self.network = NetworkSpec(mac: MACAddress.derived(from: name))
    }
}

/// How QEMU executes guest code.
public enum Accelerator: String, Sendable, CaseIterable {
    /// Hardware virtualisation; what a GPU-passthrough VM needs.
    case kvm
    /// Software emulation; slow, but works without /dev/kvm (tests, CI).
    case tcg
}

/// How a q35 guest learns of PCI hot-plug on its root ports.
public enum PCIHotplug: String, Sendable, CaseIterable {
    /// ACPI hot-plug (QEMU's default on q35 since 6.1): an unplug is over as soon as the guest's
    /// ACPI handler ejects the device (tens of milliseconds on Linux and Windows).
    case acpi
    /// Native PCIe hot-plug (`pciehp`): the guest waits out the attention button's 5 s before it
    /// lets a device go. For guests whose ACPI hot-plug does not work.
    case pcie
}

extension VMSpec {
    /// This definition as `vm up --install` starts it: the CD-ROMs (the installation ISO first)
    /// boot before the disks, and a headless definition gets the standard VGA over VNC on
    /// localhost (``DisplaySpec/defaultVNC``) to run the installer on. GPUs stay as defined.
    public func forInstallation() -> VMSpec {
        var spec = self
        spec.installing = true
        if spec.display.kind == .none {
            spec.display.kind = .std
            spec.display.vnc = DisplaySpec.defaultVNC
        }
        return spec
    }

    /// Where the orchestrator's QMP socket is: the definition's `qmp_socket`, else the VM's
    /// runtime folder. Every user of the socket asks here.
    public func qmpSocket(in paths: VMPaths) -> String {
        qmpSocket ?? paths.qmpSocket
    }

    /// The QEMU arguments that turn q35's ACPI hot-plug off, so that the root ports use native
    /// PCIe hot-plug, for `hotplug = "pcie"`; empty otherwise (ACPI hot-plug is QEMU's default).
    public var nativeHotplugArguments: [String] {
        guard hotplug == .pcie, machine.hasPrefix("q35") || machine.hasPrefix("pc-q35") else { return [] }
        return ["-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off"]
    }
}

/// Who runs the VM.
public enum Backend: Sendable, Equatable {
    /// `vm` launches QEMU itself and speaks QMP.
    case qemu
    /// libvirtd at this connection URI runs a domain we define.
    case libvirt(uri: String)
}

/// Guest CPU model and topology.
public struct CPUSpec: Sendable, Equatable {
    /// QEMU `-cpu` model (`host` passes the host CPU through; `max` works under TCG).
    public var model: String = "host"
    public var sockets: Int = 1
    public var cores: Int = 2
    public var threads: Int = 1
    /// Where the vCPU, emulator and I/O threads run on the host; nil leaves them to the scheduler.
    public var pin: CPUPinning?
    /// Keep every other task off the vCPUs' host CPUs while the VM runs (needs `pin`).
    public var isolate: Bool = false
    /// Expose AMD's topology extensions (`topoext`), without which an AMD guest does not see its
    /// SMT siblings as threads of one core; set when the definition is resolved on an AMD host
    /// for `model = "host"` with `threads` > 1.
    public var topoext: Bool = false
    /// Run the vCPU threads with the real-time policy `SCHED_FIFO` (needs `pin`), at
    /// ``realtimePriority``.
    public var realtime: Bool = false
    /// The `SCHED_FIFO` priority of realtime vCPUs: the lowest, above every normal task and below
    /// every real-time kernel thread (the kernel's RT throttling still leaves 5% to other tasks).
    public static let realtimePriority: Int32 = 1
    public init() {}
    /// Total virtual CPUs.
    public var count: Int { sockets * cores * threads }
}

/// `[cpu] pin`: the layout `vm host cpus` suggests, or explicit host CPUs.
public enum CPUPinning: Sendable, Equatable {
    /// `pin = "auto"`: resolved on the host at launch into ``CPUPins`` (and the guest topology).
    case auto
    /// `[cpu.pin]` with explicit lists.
    case explicit(CPUPins)
}

/// Host CPUs for a VM's threads.
public struct CPUPins: Sendable, Equatable, Codable {
    /// The host CPU of each vCPU, by vCPU index.
    public var vcpus: [Int]
    /// Where QEMU's other threads (emulator, workers) run; empty leaves them unpinned.
    public var emulator: [Int]
    /// Where I/O threads run; empty means with the emulator threads.
    public var iothreads: [Int]

    public init(vcpus: [Int], emulator: [Int] = [], iothreads: [Int] = []) {
        self.vcpus = vcpus
        self.emulator = emulator
        self.iothreads = iothreads
    }
}

/// UEFI (OVMF) or legacy BIOS firmware.
public struct FirmwareSpec: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case ovmf, bios }
    public var kind: Kind = .ovmf
    /// The read-only OVMF code image; nil = found on this host at launch.
    public var code: String?
    /// The vars template copied once per VM; nil = found on this host at launch.
    public var varsTemplate: String?
    /// Use the secure-boot OVMF variant (and its pre-enrolled vars template).
    public var secureBoot: Bool = false
    public init() {}
}

/// Boot a kernel and initrd directly (no firmware boot menu).
public struct KernelBoot: Sendable, Equatable {
    public var kernel: String
    public var initrd: String?
    public var append: String?
    public init(kernel: String, initrd: String? = nil, append: String? = nil) {
        self.kernel = kernel
        self.initrd = initrd
        self.append = append
    }
}

/// A disk image.
public struct DiskSpec: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable { case qcow2, raw }
    public enum Bus: String, Sendable, CaseIterable { case virtio, sata, nvme }
    public enum Cache: String, Sendable, CaseIterable {
        case none, writeback, writethrough, unsafe, directsync
    }
    public var path: String
    public var format: Format = .qcow2
    public var bus: Bus = .virtio
    public var cache: Cache = .none
    public var readOnly: Bool = false
    public init(path: String) { self.path = path }
}

/// A CD-ROM image (install ISO, driver ISO, extras ISO).
public struct CDROMSpec: Sendable, Equatable {
    public var path: String
    public init(path: String) { self.path = path }
}

/// A GPU handed to the guest with every function it needs (display, HDMI audio, USB-C, ...).
public struct GPUPassthrough: Sendable, Equatable {
    /// When the GPU enters the guest.
    public enum Plug: String, Sendable, CaseIterable {
        /// On the QEMU command line, present from power-on.
        case boot
        /// Handed over while the VM runs with `vm gpu attach` (a free root port is kept for it).
        case hot
    }
    /// The slot when given as `address = "0000:05:00"` (every function of it).
    public var slot: PCISlot?
    /// The host functions to pass; filled from the host when only `slot` was given.
    public var functions: [PCIAddress]
    /// The function that carries the display (default: function 0).
    public var displayFunction: PCIAddress?
    /// A ROM file for the display function (a dumped or patched vBIOS).
    public var romFile: String?
    /// `x-vga=on` on the display function; only for legacy BIOS guests or when asked.
    public var xVGA: Bool = false
    public var plug: Plug = .boot
    /// What QEMU puts in the guest for each function.
    public var device: PassthroughDevice = .vfioPCI
    /// `host = "release"`: the GPU is the host's display, taken from the host for the run and
    /// given back when it ends; nil when the host does not use it (`host = "keep"`, the default).
    public var hostRelease: HostReleaseOptions?

    public init(slot: PCISlot?, functions: [PCIAddress]) {
        self.slot = slot
        self.functions = functions
    }

    /// Function 0 of the slot, or the first function when the slot has no function 0.
    public var primaryFunction: PCIAddress? {
        displayFunction ?? functions.first(where: { $0.function == 0 }) ?? functions.first
    }
}

/// How a GPU that is the host's display is taken from the host (`[[gpu]] host = "release"`).
public struct HostReleaseOptions: Sendable, Equatable {
    /// How the desktop is stopped before the release and started after it.
    public enum DisplayManager: Sendable, Equatable {
        /// The unit `/etc/systemd/system/display-manager.service` links to, if any.
        case detect
        /// No display manager runs on this card.
        case none
        /// This systemd unit (`display_manager = "gdm.service"`).
        case unit(String)
        /// Programs run instead of `systemctl` (`display_manager_stop`, `display_manager_start`).
        case commands(stop: [String], start: [String])
    }

    public var displayManager: DisplayManager = .detect
    /// Unload `nvidia_drm`, `nvidia_modeset`, `nvidia_uvm`, `nvidia` (and load them again after).
    public var unloadNVIDIA: Bool = false
    /// How long processes get to let go of the card's device nodes once the desktop stopped.
    public var holderTimeout: Duration = .seconds(10)

    public init() {}
}

/// The QEMU device behind each passed-through function.
public enum PassthroughDevice: String, Sendable, CaseIterable {
    /// The host function itself, through VFIO (`vfio-pci,host=...`).
    case vfioPCI = "vfio-pci"
    /// Emulated stand-ins with a GPU's shape (`secondary-vga` for the display function, an
    /// `ES1370` sound card for the others), for test beds without a spare GPU. QEMU 7.2 can
    /// plug and unplug these repeatedly (a `bochs-display` cannot be plugged twice).
    case standIn = "stand-in"
}

/// Hyper-V enlightenments and hiding the hypervisor, for Windows guests.
public struct WindowsFeatures: Sendable, Equatable {
    /// Turn on the Hyper-V enlightenments Windows uses (relaxed, vapic, spinlocks, time, ...).
    public var hyperV: Bool = false
    /// `hv_vendor_id` (at most 12 characters); some drivers refuse to run under a known hypervisor.
    public var hvVendorID: String?
    /// Hide the KVM signature from the guest (`kvm=off`).
    public var kvmHidden: Bool = false
    /// `smbios = "host"`: the guest's SMBIOS system and board (types 1 and 2) say what the host's
    /// do, instead of QEMU's; the fields are read from the host when the definition is resolved.
    public var smbiosFromHost: Bool = false
    /// The SMBIOS fields given to the guest (types 1, system, and 2, board); empty until resolved.
    public var smbios: [SMBIOSField] = []
    public init() {}
}

/// One SMBIOS field the guest's firmware reports, as QEMU's `-smbios type=N,NAME=VALUE` names it.
public struct SMBIOSField: Sendable, Equatable {
    /// 1: the system, 2: the baseboard.
    public var type: Int
    /// `manufacturer`, `product`, `version`, `family`.
    public var name: String
    public var value: String

    public init(type: Int, name: String, value: String) {
        self.type = type
        self.name = name
        self.value = value
    }

    /// The fields of the host, read with `read` (the text of a `/sys/class/dmi/id` file, or nil);
    /// empty and placeholder values are left out.
    public static func fromHost(_ read: (String) -> String?) -> [SMBIOSField] {
        hostSources.compactMap { source in
            guard let value = read(source.file)?.trimmingWhitespace(), !value.isEmpty,
                  !value.lowercased().contains("to be filled"), value.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7f }) else { return nil }
            return SMBIOSField(type: source.type, name: source.name, value: value)
        }
    }

    /// The host's `/sys/class/dmi/id` files each field is read from.
    public static let hostSources: [(type: Int, name: String, file: String)] = [
        (1, "manufacturer", "sys_vendor"), (1, "product", "product_name"), (1, "version", "product_version"),
        (1, "family", "product_family"), (2, "manufacturer", "board_vendor"), (2, "product", "board_name"),
        (2, "version", "board_version"),
    ]
}

/// `[tpm]`: a TPM 2.0 emulated by `swtpm`, its state (keys, NV storage) kept in the VM's state folder.
public struct TPMSpec: Sendable, Equatable {
    /// Give the guest a TPM 2.0 (`tpm-crb`).
    public var enabled: Bool = false
    public init(enabled: Bool = false) { self.enabled = enabled }
}

/// The guest's network card and how it reaches the LAN.
public struct NetworkSpec: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        /// QEMU user networking (NAT, works everywhere, no P2P streaming across subnets).
        case user
        /// A tap on an existing host bridge (the guest gets its own LAN address).
        case bridge
        /// A macvtap on a host NIC (own LAN address; host <-> guest traffic does not pass).
        case macvtap
        /// A libvirt network (libvirt backend only).
        case network
        /// No network card.
        case none
    }
    public var mode: Mode = .user
    /// The host bridge for `bridge` mode.
    public var bridge: String?
    /// The host NIC for `macvtap` mode.
    public var parent: String?
    /// The libvirt network for `network` mode.
    public var libvirtNetwork: String?
    public var mac: MACAddress
    /// The emulated NIC model.
    public var model: String = "virtio-net-pci"
    public init(mac: MACAddress) { self.mac = mac }
}

/// What the guest shows on an emulated screen.
public struct DisplaySpec: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Headless: the passed-through GPU drives the monitor (or a virtual display).
        case none
        /// Standard VGA, for installing the OS before the GPU driver is in.
        case std
        /// virtio-vga.
        case virtio
    }
    public var kind: Kind = .none
    /// VNC display for the emulated screen, e.g. `127.0.0.1:0`; nil = no VNC. The parser gives an
    /// emulated display ``defaultVNC`` when the definition names none, for both backends.
    public var vnc: String?
    /// The VNC display of an emulated screen whose definition names none.
    public static let defaultVNC = "127.0.0.1:0"
    public init() {}
}

/// `hugepages = "2M" | "1G"` (`true` means 2M).
public enum HugePageSize: String, Sendable, Equatable, CaseIterable, Codable {
    case twoMiB = "2M"
    case oneGiB = "1G"

    /// The page size in KiB, as sysfs names it (`hugepages-2048kB`).
    public var kib: Int { self == .twoMiB ? 2048 : 1_048_576 }
    /// The page size in MiB.
    public var mib: Int { kib / 1024 }
    /// Pages that hold `memoryMiB`.
    public func pages(for memoryMiB: Int) -> Int { (memoryMiB + mib - 1) / mib }
}

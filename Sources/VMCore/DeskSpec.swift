/// Looking Glass: the guest's frames shared with the host through an IVSHMEM device, so that the
/// Looking Glass client on the host shows the VM's screen.
public struct LookingGlassSpec: Sendable, Equatable {
    /// The shared memory: a file under `/dev/shm` (made for each run, removed at its end) or the
    /// `kvmfr` module's device (`/dev/kvmfr0`, which the module owns).
    public var path: String = LookingGlassSpec.defaultPath
    /// Its size in MiB, a power of two.
    public var sizeMiB: Int = LookingGlassSpec.sizeMiB(width: 1920, height: 1080)
    /// The user who runs the Looking Glass client and owns the file; nil: the user who ran
    /// `sudo` (`SUDO_USER`), else the user `vm` runs as.
    public var owner: String?

    public static let defaultPath = "/dev/shm/looking-glass"

    public init() {}

    /// Whether `path` is the `kvmfr` module's device rather than a file `vm` makes.
    public var usesKVMFR: Bool { path.hasPrefix("/dev/kvmfr") }

    /// The size Looking Glass documents for a resolution: two 32-bit frames plus 10 MiB, rounded
    /// up to a power of two MiB (1920x1080: 32 MiB, 2560x1440: 64 MiB, 3840x2160: 128 MiB).
    public static func sizeMiB(width: Int, height: Int) -> Int {
        let bytes = width * height * 4 * 2 + 10 * 1024 * 1024
        let mebibytes = (bytes + 1024 * 1024 - 1) / (1024 * 1024)
        var size = 1
        while size < mebibytes { size *= 2 }
        return size
    }
}

/// A host keyboard, mouse or controller given to the guest through evdev (QEMU's `input-linux`):
/// pressing both Ctrl keys switches it between host and guest.
public struct EvdevInput: Sendable, Equatable {
    /// The device, `/dev/input/by-id/...-event-kbd` (a stable name) or `/dev/input/eventN`.
    public var path: String
    /// Switch every evdev device of the VM together when the grab keys are pressed on this one.
    public var grabAll: Bool = true
    /// Let the guest repeat held keys itself (keyboards).
    public var repeats: Bool = true

    public init(path: String) {
        self.path = path
    }
}

/// The emulated devices through which `[[input]]` events reach the guest.
public enum InputBus: String, Sendable, CaseIterable {
    /// A virtio keyboard and mouse besides q35's PS/2 pair: a new keyboard and mouse in the guest,
    /// which take the input once the guest's virtio-input driver runs (Linux: `virtio_input`;
    /// Windows: vioinput from the virtio-win ISO). Until then the PS/2 pair gets it.
    case virtio
    /// q35's PS/2 keyboard and mouse only.
    case ps2
}

/// A host USB device given to the guest (QEMU's `usb-host` behind an xHCI controller).
public struct USBDevice: Sendable, Equatable {
    /// How the host device is found.
    public enum Selector: Sendable, Equatable, CustomStringConvertible {
        /// By its vendor and product ids (`046d:c52b`): whichever port it is plugged into.
        case ids(vendor: UInt16, product: UInt16)
        /// By where it is plugged in: bus number and port path (`1`, `"1.2"`).
        case port(bus: Int, port: String)

        public var description: String {
            switch self {
            case let .ids(vendor, product): "\(hex4(vendor)):\(hex4(product))"
            case let .port(bus, port): "bus \(bus) port \(port)"
            }
        }

        /// `046d:c52b` (four hex digits each), or nil.
        public static func ids(parsing text: String) -> Selector? {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ $0.count == 4 }),
                  let vendor = UInt16(parts[0], radix: 16), let product = UInt16(parts[1], radix: 16) else { return nil }
            return .ids(vendor: vendor, product: product)
        }
    }

    public var selector: Selector

    public init(selector: Selector) {
        self.selector = selector
    }
}

extension USBDevice.Selector {
    /// The QEMU id of the `usb-host` device for this host device (`usb-46d-c52b`, `usb-1-1.2`):
    /// the same whether it was plugged at boot (`[[usb]]`) or by `vm usb attach`, so that
    /// `vm usb detach` finds either.
    public var qemuID: String {
        switch self {
        case let .ids(vendor, product): "usb-\(String(vendor, radix: 16))-\(String(product, radix: 16))"
        case let .port(bus, port): "usb-\(bus)-\(port)"
        }
    }
}

/// A host USB controller (an xHCI's PCI function) given to the guest whole through VFIO, with
/// every device plugged into it: `vm up` moves it to vfio-pci for the run and gives it back to its
/// host driver when the run ends, with the same IOMMU group checks as a GPU.
public struct USBHostController: Sendable, Equatable {
    /// The controller's PCI function (`lspci -D` shows it; class 0x0c03).
    public var address: PCIAddress

    public init(address: PCIAddress) {
        self.address = address
    }

    /// The QEMU id of its `vfio-pci` device (`usbhc0`).
    public static func qemuID(_ index: Int) -> String { "usbhc\(index)" }
}

private func hex4(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}

/// An emulated sound card (`ich9-intel-hda` with a duplex codec) on the host's sound server.
public struct AudioSpec: Sendable, Equatable {
    /// Where the guest's sound goes.
    public enum Backend: String, Sendable, CaseIterable {
        /// The desktop's PulseAudio server, or PipeWire's (`pipewire-pulse` speaks the same protocol).
        case pulseaudio
        /// Nowhere: the guest has a sound card that plays silence.
        case none
    }

    public var backend: Backend = .pulseaudio
    /// The server, `unix:/run/user/UID/pulse/native`; nil: the desktop user's (the one who ran
    /// `sudo`), filled in when the definition is resolved on the host.
    public var server: String?

    public init() {}

    /// The desktop user's PulseAudio (or pipewire-pulse) socket for user id `uid`.
    public static func userServer(uid: String) -> String { "unix:/run/user/\(uid)/pulse/native" }
}

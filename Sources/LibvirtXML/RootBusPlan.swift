import VMCore

/// Where every PCI device of a domain sits. Everything gets an explicit address so libvirt's own
/// address assignment never takes a `pcie-root-port` kept free for hot-plug:
///
/// - `00:01.0` the emulated video card (when there is one),
/// - `00:02.0` onwards one `pcie-root-port` per GPU (in definition order, hot ones included),
///   then the spare root ports, then the emulated devices (virtio disks, NIC, USB controller,
///   virtio-serial) as integrated endpoints of the root bus,
/// - `00:1f.x` the q35 chipset (LPC, SATA, SMBus), which libvirt adds itself.
///
/// Controller index `n` (`pci.n`) is the root port on slot `0x01 + n`.
struct RootBusPlan: Equatable, Sendable {
    /// First and last root-bus slot handed out here.
    static let firstSlot: UInt8 = 0x02
    static let lastSlot: UInt8 = 0x1e
    static var capacity: Int { Int(lastSlot - firstSlot) + 1 }
    /// The slot of the emulated video card.
    static let videoSlot: UInt8 = 0x01

    /// The root-port controller index of each GPU, in `spec.gpus` order.
    let gpuRootPorts: [Int]
    /// Root-port controller indexes kept free for hot-plug beyond the hot GPUs' own.
    let spareRootPorts: [Int]
    /// Root-bus slots of the virtio disks, in `spec.disks` order (nil for SATA disks).
    let diskSlots: [UInt8?]
    let nicSlot: UInt8?
    let usbSlot: UInt8
    let virtioSerialSlot: UInt8?

    init(spec: VMSpec) throws(DomainXMLError) {
        let rootPortCount = spec.gpus.count + max(0, spec.spareRootPorts)
        let virtioDisks = spec.disks.filter { $0.bus == .virtio }.count
        let needed = rootPortCount + virtioDisks + (spec.network.mode == .none ? 0 : 1) + 1
            + (spec.guestAgent ? 1 : 0)
        guard needed <= Self.capacity else {
            throw .tooManyPCIDevices(needed: needed, available: Self.capacity)
        }
        gpuRootPorts = spec.gpus.indices.map { $0 + 1 }
        spareRootPorts = (0..<max(0, spec.spareRootPorts)).map { spec.gpus.count + 1 + $0 }
        var next = Self.firstSlot + UInt8(rootPortCount)
        func take() -> UInt8 {
            defer { next += 1 }
            return next
        }
        diskSlots = spec.disks.map { $0.bus == .virtio ? take() : nil }
        nicSlot = spec.network.mode == .none ? nil : take()
        usbSlot = take()
        virtioSerialSlot = spec.guestAgent ? take() : nil
    }

    /// Every root-port controller index, GPU ports first.
    var rootPorts: [Int] { gpuRootPorts + spareRootPorts }

    /// The root-bus slot of root-port controller `index`.
    static func slot(ofRootPort index: Int) -> UInt8 {
        firstSlot + UInt8(index - 1)
    }
}

extension XMLTag {
    /// `<address type='pci' .../>` for a function on bus `bus`.
    static func pciAddress(bus: Int, slot: UInt8, function: UInt8 = 0, multifunction: Bool = false) -> XMLTag {
        var attributes = [
            ("type", "pci"), ("domain", "0x0000"), ("bus", "0x" + hex2(UInt8(bus))),
            ("slot", "0x" + hex2(slot)), ("function", "0x" + String(function, radix: 16)),
        ]
        if multifunction { attributes.append(("multifunction", "on")) }
        return XMLTag("address", attributes)
    }
}

/// Two lower-case hex digits.
package func hex2(_ value: UInt8) -> String {
    let digits = String(value, radix: 16)
    return digits.count == 1 ? "0" + digits : digits
}

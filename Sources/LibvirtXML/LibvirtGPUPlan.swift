import VMCore

/// How a hot GPU goes into a running libvirt domain (pure: no host or libvirt access).
///
/// libvirt hot-plugs a PCI device only at function 0 of a slot ("Only PCI device addresses with
/// function=0 are supported", checked against libvirt 9.0 here), so a multifunction GPU cannot be
/// rebuilt as `.0`/`.1` of one guest slot live. Each function gets function 0 of its own
/// `pcie-root-port` instead: the display function takes the GPU's own port, the other functions
/// take the definition's spare ports (`spare_root_ports`), in order, after those earlier hot GPUs
/// use. Attach order: functions other than the display first, the display last. Detach: every
/// function is a slot of its own, so each alias is unplugged (display first).
public struct LibvirtGPUPlan: Sendable, Equatable {
    /// One function's hot-plug.
    public struct Function: Sendable, Equatable {
        /// The host function.
        public let host: PCIAddress
        /// The libvirt alias (QEMU device id) naming it in the live XML and in `query-pci`.
        public let alias: String
        /// The `pcie-root-port` index (guest bus) it is plugged into, at slot 0 function 0.
        public let rootPort: Int
        /// The `<hostdev managed='yes'>` element.
        public let xml: String
    }

    /// Which `[[gpu]]`.
    public let gpu: Int
    /// In attach order: the display function last.
    public let functions: [Function]

    /// The aliases in detach order: the display function first.
    public var detachOrder: [String] { functions.reversed().map(\.alias) }

    /// Why a GPU cannot be hot-plugged through libvirt.
    public enum Problem: Error, Equatable, CustomStringConvertible {
        case noSuchGPU(index: Int, count: Int)
        case bootPlugged(index: Int)
        case notHostdev(index: Int, driver: String)
        case noFunctions(index: Int)
        case notEnoughSpareRootPorts(index: Int, needed: Int, available: Int)
        case definition(DomainXMLError)

        public var description: String {
            switch self {
            case .noSuchGPU(let index, let count):
                return "the definition has \(count) GPU(s); --gpu \(index) does not exist"
            case .bootPlugged(let index):
                return "gpu[\(index)] is plugged at boot (plug = \"boot\"); set plug = \"hot\" to hand it over while the VM runs"
            case .notHostdev(let index, let driver):
                return "gpu[\(index)] uses passthrough driver '\(driver)'; the libvirt backend passes real host functions only (vfio-pci)"
            case .noFunctions(let index):
                return "gpu[\(index)] has no PCI functions on this host (is the address right? `vm gpu list` shows the cards)"
            case .notEnoughSpareRootPorts(let index, let needed, let available):
                return "gpu[\(index)] needs \(needed) spare root port(s) (libvirt hot-plugs one function per slot) but only \(available) are free; "
                    + "raise spare_root_ports in the definition and restart the VM (`vm down`, `vm up`)"
            case .definition(let error):
                return error.description
            }
        }
    }

    /// The plan for GPU `index` of a resolved definition.
    public init(spec: VMSpec, gpu index: Int) throws(Problem) {
        guard spec.gpus.indices.contains(index) else { throw .noSuchGPU(index: index, count: spec.gpus.count) }
        let gpu = spec.gpus[index]
        guard gpu.plug == .hot else { throw .bootPlugged(index: index) }
        guard gpu.device == .vfioPCI else { throw .notHostdev(index: index, driver: gpu.device.rawValue) }
        guard let primary = gpu.primaryFunction, !gpu.functions.isEmpty else { throw .noFunctions(index: index) }
        let ports: RootBusPlan
        do { ports = try RootBusPlan(spec: spec) } catch { throw .definition(error) }
        let others = gpu.functions.sorted().filter { $0 != primary }
        // Spare ports go to hot GPUs in definition order, one per non-display function.
        let taken = spec.gpus[..<index].filter { $0.plug == .hot }.map { max(0, $0.functions.count - 1) }.reduce(0, +)
        let free = max(0, ports.spareRootPorts.count - taken)
        guard others.count <= free else {
            throw .notEnoughSpareRootPorts(index: index, needed: others.count, available: free)
        }
        var functions: [Function] = []
        for (offset, host) in others.enumerated() {
            functions.append(Self.function(host: host, alias: DomainXMLBuilder.alias(gpu: index, function: host.function),
                                           rootPort: ports.spareRootPorts[taken + offset], rom: nil))
        }
        functions.append(Self.function(host: primary, alias: DomainXMLBuilder.alias(gpu: index, function: primary.function),
                                       rootPort: ports.gpuRootPorts[index], rom: gpu.romFile))
        self.gpu = index
        self.functions = functions
    }

    static func function(host: PCIAddress, alias: String, rootPort: Int, rom: String?) -> Function {
        var children = [
            XMLTag("source", children: [XMLTag("address", [
                ("domain", "0x" + hex2(UInt8(host.domain >> 8)) + hex2(UInt8(host.domain & 0xff))),
                ("bus", "0x" + hex2(host.bus)), ("slot", "0x" + hex2(host.slot)),
                ("function", "0x" + String(host.function, radix: 16)),
            ])]),
        ]
        if let rom { children.append(XMLTag("rom", [("file", rom)])) }
        children.append(XMLTag("alias", [("name", alias)]))
        children.append(.pciAddress(bus: rootPort, slot: 0))
        let tag = XMLTag("hostdev", [("mode", "subsystem"), ("type", "pci"), ("managed", "yes")], children: children)
        return Function(host: host, alias: alias, rootPort: rootPort, xml: tag.rendered())
    }
}

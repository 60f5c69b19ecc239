import CLibvirt
import LibvirtXML
import VMCore

/// What a GPU hand-over needs from a running libvirt domain and its host. ``LibvirtDomain`` is the
/// real one; tests use a scripted one for host states this machine cannot have (a real GPU).
public protocol HotplugDomain: Sendable {
    /// Whether QEMU runs for the domain.
    func isActive() throws -> Bool
    /// The live domain XML.
    func liveXML() throws -> String
    /// Hot-plugs one device into the running domain.
    func attachDevice(xml: String) throws
    /// Asks for the live devices with these aliases to be unplugged, in this order, and waits
    /// until none of them is in the live domain or `timeout` passes; returns those still there.
    func unplug(aliases: [String], timeout: Duration) async throws -> [String]
    /// Sends one QMP command through libvirt's pass-through and returns QEMU's JSON reply.
    func qemuMonitorCommand(_ json: String) throws -> String
    /// Moves a host function off its host driver to vfio-pci (libvirt's `virNodeDeviceDetachFlags`).
    func detachFromHost(_ function: PCIAddress) throws
    /// Gives a host function back to its host driver (libvirt's `virNodeDeviceReAttach`).
    func reattachToHost(_ function: PCIAddress) throws
}

extension LibvirtDomain: HotplugDomain {
    public func liveXML() throws -> String {
        try xml()
    }

    /// Waits on libvirt's device-removed and lifecycle events (subscribed before the requests),
    /// reading the live XML once now and once per event.
    public func unplug(aliases: [String], timeout: Duration) async throws -> [String] {
        let subscription = try subscribe()
        defer { subscription.cancel() }
        for alias in aliases {
            guard virDomainDetachDeviceAlias(pointer, alias, VIR_DOMAIN_AFFECT_LIVE.rawValue) == 0 else {
                throw LibvirtError.last("virDomainDetachDeviceAlias(\(name), \(alias))")
            }
        }
        let present: @Sendable () throws -> [String] = {
            let xml = try self.xml()
            return aliases.filter { xml.contains("<alias name='\(XMLEscape.attribute($0))'/>") }
        }
        if try await wait(on: subscription, timeout: timeout, until: { try present().isEmpty }) { return [] }
        return try present()
    }

    public func detachFromHost(_ function: PCIAddress) throws {
        try connection.withNodeDevice(function) { device in
            virNodeDeviceDetachFlags(device, "vfio", 0) == 0 ? nil : LibvirtError.last("virNodeDeviceDetachFlags(\(function), vfio)")
        }
    }

    public func reattachToHost(_ function: PCIAddress) throws {
        try connection.reattachToHost(function)
    }
}

extension LibvirtConnection {
    /// libvirt's node-device name of a PCI function: `pci_0000_05_00_1`.
    static func nodeDeviceName(_ function: PCIAddress) -> String {
        let domain = hex2(UInt8(function.domain >> 8)) + hex2(UInt8(function.domain & 0xff))
        return "pci_\(domain)_\(hex2(function.bus))_\(hex2(function.slot))_\(String(function.function, radix: 16))"
    }

    /// Gives a host function back to its host driver (`virNodeDeviceReAttach`, what `virsh
    /// nodedev-reattach` does).
    public func reattachToHost(_ function: PCIAddress) throws(LibvirtError) {
        try withNodeDevice(function) { device in
            virNodeDeviceReAttach(device) == 0 ? nil : LibvirtError.last("virNodeDeviceReAttach(\(function))")
        }
    }

    /// Runs `body` on the node device of `function`; `body` returns the error of a failed call.
    func withNodeDevice(_ function: PCIAddress, _ body: (virNodeDevicePtr) -> LibvirtError?) throws(LibvirtError) {
        let name = Self.nodeDeviceName(function)
        guard let device = virNodeDeviceLookupByName(pointer, name) else {
            throw LibvirtError.last("virNodeDeviceLookupByName(\(name))")
        }
        defer { virNodeDeviceFree(device) }
        if let error = body(device) { throw error }
    }
}

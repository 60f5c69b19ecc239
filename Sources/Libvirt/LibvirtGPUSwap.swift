import Foundation
import Handover
import HostLinux
import LibvirtXML
import VMCore

/// The host-side checks of a libvirt hand-over, over this machine's sysfs and procfs (under a
/// root for tests). Only meaningful for a local daemon: a remote host's devices are not here.
public struct LibvirtGPUHost: Sendable {
    public let fileSystem: any HostFileSystem

    public init(fileSystem: any HostFileSystem) {
        self.fileSystem = fileSystem
    }

    /// Refuses unless the GPU's IOMMU group holds only its functions (or bridges); returns the
    /// processes holding the card's device nodes (the caller refuses unless forced).
    public func check(_ gpu: GPUPassthrough) throws(HandoverError) -> [DeviceHolder] {
        guard let slot = gpu.slot ?? gpu.functions.first?.pciSlot else { return [] }
        return try HostPreCheck(fileSystem: fileSystem).verify(slot, functions: gpu.functions).holders
    }

    /// The driver each function is on now (nil: none).
    public func drivers(_ functions: [PCIAddress]) -> [(PCIAddress, String?)] {
        let binder = DriverBinder(fileSystem: fileSystem)
        return functions.map { ($0, binder.currentDriver($0)) }
    }
}

/// Moves a hot GPU between the host and a running libvirt domain (see ``LibvirtGPUPlan``):
/// libvirt switches the drivers (node-device detach before the attach, managed `<hostdev>`
/// re-attach after the unplug); this checks before and verifies after, and undoes a failed attach.
public struct LibvirtGPUSwapper: Sendable {
    public let plan: LibvirtGPUPlan
    public let name: String
    /// This machine's sysfs when the daemon is local; nil for a remote host (nothing to verify here).
    public let host: LibvirtGPUHost?
    /// How long the guest may take to release the GPU.
    public var unplugTimeout: Duration = .seconds(30)

    public init(plan: LibvirtGPUPlan, name: String, host: LibvirtGPUHost?) {
        self.plan = plan
        self.name = name
        self.host = host
    }

    /// The steps of an attach, one line each.
    public func attachPlan() -> [String] {
        var lines = [host == nil
            ? "remote libvirt host: the IOMMU group and holder checks cannot be done from here"
            : "check that IOMMU group of \(plan.functions.map(\.host.description).joined(separator: ", ")) holds nothing else and no host process holds the card"]
        lines += plan.functions.map { "libvirt node-device detach \($0.host) to vfio-pci" }
        lines += plan.functions.map { "attach <hostdev managed='yes'> \($0.host) as \($0.alias) on root port pci.\($0.rootPort) (slot 0, function 0)" }
        lines.append("check the live XML and QMP query-pci for \(plan.functions.map(\.alias).joined(separator: ", "))")
        return lines
    }

    /// The steps of a detach, one line each.
    public func detachPlan() -> [String] {
        var lines = plan.detachOrder.map { "detach \($0) (live)" }
        lines.append("wait for \(plan.functions.map(\.alias).joined(separator: ", ")) to leave the live XML (at most \(unplugTimeout))")
        lines.append(host == nil
            ? "remote libvirt host: libvirt gives the functions back to their drivers (managed='yes'); not verified from here"
            : "check in sysfs that \(plan.functions.map(\.host.description).joined(separator: ", ")) left vfio-pci (libvirt re-attaches managed hostdevs)")
        return lines
    }

    /// The host-side refusals, before libvirt is touched. Returns warnings (forced holders).
    public func checkHost(force: Bool) throws -> [String] {
        guard let host else { return ["remote libvirt host: IOMMU group and holder checks skipped"] }
        let functions = plan.functions.map(\.host)
        let gpu = GPUPassthrough(slot: functions.first?.pciSlot, functions: functions)
        return try HostPreCheck.refuseHolders(host.check(gpu), force: force).map { [$0] } ?? []
    }

    // MARK: - attach

    /// Hands the GPU to the running domain; on failure, undoes what was done and throws.
    public func attach(_ domain: any HotplugDomain, notes: [String] = []) async throws -> SwapReport {
        var clock = SwapClock()
        guard try clock.waiting({ try domain.isActive() }) else { throw HandoverError.notRunning(name: name, backend: .libvirt) }
        let present = try presentAliases(domain, clock: &clock)
        guard present.isEmpty else { throw HandoverError.alreadyInGuest(index: plan.gpu, aliases: present) }
        var steps = notes
        var detached: [PCIAddress] = []
        var attached: [String] = []
        var step = ""
        do {
            for function in plan.functions {
                step = "node-device detach of \(function.host)"
                try clock.waiting { try domain.detachFromHost(function.host) }
                detached.append(function.host)
                steps.append("\(function.host): host driver -> vfio-pci (libvirt)")
            }
            for function in plan.functions {
                step = "attach of \(function.alias)"
                try clock.waiting { try domain.attachDevice(xml: function.xml) }
                attached.append(function.alias)
                steps.append("attached \(function.alias) (\(function.host)) on pci.\(function.rootPort)")
            }
            step = "verification"
            let live = try presentAliases(domain, clock: &clock)
            let missingLive = plan.functions.map(\.alias).filter { !live.contains($0) }
            guard missingLive.isEmpty else { throw HandoverError.notVisibleInGuest(missingLive, backend: .libvirt) }
            let reply = try clock.waiting { try domain.qemuMonitorCommand(#"{"execute":"query-pci"}"#) }
            let ids = Set(QMPReplyText.qdevIDs(reply))
            let missing = plan.functions.map(\.alias).filter { !ids.contains($0) }
            guard missing.isEmpty else { throw HandoverError.notVisibleInGuest(missing, backend: .libvirt) }
            steps.append("live XML and query-pci show \(plan.functions.map(\.alias).joined(separator: ", "))")
        } catch {
            let rolledBack = await undo(domain, attached: attached, detached: detached)
            throw HandoverError.stepFailed(step: step, reason: "\(error)", rolledBack: rolledBack, backend: .libvirt)
        }
        return clock.report(gpu: plan.gpu, devices: plan.functions.map(\.alias), steps: steps)
    }

    /// Unplugs `attached`, then gives `detached` back to the host; true when all of it worked.
    func undo(_ domain: any HotplugDomain, attached: [String], detached: [PCIAddress]) async -> Bool {
        var clock = SwapClock()
        var clean = true
        if !attached.isEmpty {
            let order = plan.detachOrder.filter(attached.contains)
            do {
                try await unplug(order, domain, clock: &clock)
            } catch {
                clean = false
            }
        }
        // libvirt gives managed hostdevs back itself once they leave; the rest are ours to return.
        for function in detached.reversed() {
            if let host, host.drivers([function]).first?.1 != vfioDriverName { continue }
            do { try domain.reattachToHost(function) } catch { clean = false }
        }
        return clean
    }

    // MARK: - detach

    /// Takes the GPU back from the running domain and checks (locally) that its functions left vfio-pci.
    public func detach(_ domain: any HotplugDomain) async throws -> SwapReport {
        var clock = SwapClock()
        guard try clock.waiting({ try domain.isActive() }) else { throw HandoverError.notRunning(name: name, backend: .libvirt) }
        let present = try presentAliases(domain, clock: &clock)
        guard !present.isEmpty else { throw HandoverError.notInGuest(index: plan.gpu) }
        let order = plan.detachOrder.filter(present.contains)
        try await unplug(order, domain, clock: &clock)
        var steps = ["detached \(order.joined(separator: ", ")); gone from the live XML"]
        if let host {
            var stuck: [String] = []
            for (function, driver) in host.drivers(plan.functions.map(\.host)) {
                if driver == vfioDriverName {
                    // libvirt skips the re-attach while another function of the group is still in use.
                    try clock.waiting { try domain.reattachToHost(function) }
                }
                let now = host.drivers([function]).first?.1 ?? nil
                if now == vfioDriverName {
                    stuck.append("\(function) is still on vfio-pci")
                } else {
                    steps.append("\(function): back on \(now ?? "no driver")")
                }
            }
            guard stuck.isEmpty else { throw HandoverError.notBackOnHost(stuck) }
        } else {
            steps.append("remote libvirt host: libvirt re-attaches the functions to their drivers (managed='yes'); not verified from here")
        }
        return clock.report(gpu: plan.gpu, devices: order, steps: steps)
    }

    /// Requests the unplug of `aliases` in order and waits until none is in the live XML.
    func unplug(_ aliases: [String], _ domain: any HotplugDomain, clock: inout SwapClock) async throws {
        let still = try await clock.waiting { try await domain.unplug(aliases: aliases, timeout: unplugTimeout) }
        guard still.isEmpty else { throw HandoverError.unplugTimedOut(stillPresent: still, timeout: unplugTimeout) }
    }

    /// The plan's aliases that the live domain XML has.
    func presentAliases(_ domain: any HotplugDomain, clock: inout SwapClock) throws -> [String] {
        let xml = try clock.waiting { try domain.liveXML() }
        return plan.functions.map(\.alias).filter { xml.contains("<alias name='\(XMLEscape.attribute($0))'/>") }
    }
}

import Handover
import HostLinux
import LibvirtXML
import VMCore

extension LibvirtMachine {
    /// The swapper for GPU `index`: host checks over `hostFileSystem` when the daemon is local.
    public func gpuSwapper(_ index: Int, hostFileSystem: any HostFileSystem) throws -> LibvirtGPUSwapper {
        let plan = try LibvirtGPUPlan(spec: spec, gpu: index)
        let local = LibvirtURI(uri).isLocal
        return LibvirtGPUSwapper(plan: plan, name: name, host: local ? LibvirtGPUHost(fileSystem: hostFileSystem) : nil)
    }

    /// Hands GPU `index` to the running domain (`vm gpu attach` on the libvirt backend). The
    /// definition and host checks refuse before libvirt is contacted.
    public func attachGPU(_ index: Int, force: Bool = false, hostFileSystem: any HostFileSystem) async throws -> SwapReport {
        let swapper = try gpuSwapper(index, hostFileSystem: hostFileSystem)
        let notes = try swapper.checkHost(force: force)
        let domain = try runningDomain()
        return try await swapper.attach(domain, notes: notes)
    }

    /// Takes GPU `index` back from the running domain (`vm gpu detach` on the libvirt backend).
    public func detachGPU(_ index: Int, hostFileSystem: any HostFileSystem) async throws -> SwapReport {
        let swapper = try gpuSwapper(index, hostFileSystem: hostFileSystem)
        return try await swapper.detach(try runningDomain())
    }

    /// The domain, which must be defined and running.
    func runningDomain() throws -> LibvirtDomain {
        let connection = try Self.connect(uri)
        guard let domain = try connection.domainIfDefined(named: name), try domain.isActive() else {
            throw HandoverError.notRunning(name: name, backend: .libvirt)
        }
        return domain
    }
}

/// `vm gpu attach|detach` on a libvirt-run VM: ``LibvirtMachine``'s hand-overs with the host
/// checks reading `hostFileSystem`.
public struct LibvirtGPUHandOver: GPUSwapping {
    public let machine: LibvirtMachine
    /// The host's sysfs/procfs (under `VM_HOST_ROOT`), read when the daemon is local.
    public let hostFileSystem: any HostFileSystem

    public init(machine: LibvirtMachine, hostFileSystem: any HostFileSystem) {
        self.machine = machine
        self.hostFileSystem = hostFileSystem
    }

    public func plan(attach index: Int) throws -> [String] {
        try machine.gpuSwapper(index, hostFileSystem: hostFileSystem).attachPlan()
    }

    public func plan(detach index: Int) throws -> [String] {
        try machine.gpuSwapper(index, hostFileSystem: hostFileSystem).detachPlan()
    }

    public func attach(gpu index: Int, force: Bool) async throws -> SwapReport {
        try await machine.attachGPU(index, force: force, hostFileSystem: hostFileSystem)
    }

    public func detach(gpu index: Int) async throws -> SwapReport {
        try await machine.detachGPU(index, hostFileSystem: hostFileSystem)
    }
}

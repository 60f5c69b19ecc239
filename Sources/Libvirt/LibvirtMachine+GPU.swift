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

extension LibvirtMachine: GPUSwapping {
    public func plan(attach index: Int) throws -> [String] {
        try gpuSwapper(index, hostFileSystem: hostFileSystem).attachPlan()
    }

    public func plan(detach index: Int) throws -> [String] {
        try gpuSwapper(index, hostFileSystem: hostFileSystem).detachPlan()
    }

    public func attach(gpu index: Int, force: Bool) async throws -> SwapReport {
        try await attachGPU(index, force: force, hostFileSystem: hostFileSystem)
    }

    public func detach(gpu index: Int) async throws -> SwapReport {
        try await detachGPU(index, hostFileSystem: hostFileSystem)
    }

    /// libvirt keeps no swap journal: its managed hostdevs go back to their host drivers when they
    /// leave the guest or the domain stops. So a running domain has nothing to recover; for a
    /// shut-off (or undefined) domain on a local daemon, every passed-through function still on
    /// vfio-pci (a crashed libvirtd, a hand-over cut short) is re-attached to its host driver
    /// (`virNodeDeviceReAttach`).
    public func recover() async throws -> [String] {
        let connection = try Self.connect(uri)
        let managed = "libvirt gives managed hostdevs back to their host drivers itself"
        if let domain = try connection.domainIfDefined(named: name), try domain.isActive() {
            return ["\(name) runs under libvirt at \(uri); \(managed) when they leave the guest or the domain stops: nothing to recover"]
        }
        guard connection.isLocal else {
            return ["\(name) is not running at \(uri); \(managed); the remote host's drivers cannot be checked from here"]
        }
        let functions = spec.gpus.filter { $0.device == .vfioPCI }.flatMap(\.functions)
        let leftOnVFIO = LibvirtGPUHost(fileSystem: hostFileSystem).drivers(functions).filter { $0.1 == "vfio-pci" }.map(\.0)
        guard !leftOnVFIO.isEmpty else {
            return ["\(name) is not running under libvirt; \(managed), and no GPU function of it is left on vfio-pci"]
        }
        var done: [String] = []
        for function in leftOnVFIO {
            try connection.reattachToHost(function)
            done.append("\(function): vfio-pci -> its host driver (virNodeDeviceReAttach)")
        }
        return done
    }

    /// Detaches every hot GPU the running domain holds (libvirt then gives its functions back);
    /// a domain that does not run gets ``recover()``.
    public func returnGPUs() async throws -> [String] {
        let connection = try Self.connect(uri)
        guard let domain = try connection.domainIfDefined(named: name), try domain.isActive() else { return try await recover() }
        let builder = DomainXMLBuilder(spec: spec, paths: paths)
        var done: [String] = []
        for index in spec.gpus.indices where spec.gpus[index].plug == .hot {
            let aliases = ((try? builder.hotplugDevices(forGPU: index)) ?? []).map(\.alias)
            guard try aliases.contains(where: domain.hasDevice(alias:)) else { continue }
            _ = try await detach(gpu: index)
            done.append("gpu[\(index)] detached; libvirt returned it to the host")
        }
        return done
    }
}

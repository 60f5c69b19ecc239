import Handover
import HostLinux
import QMP
import VMCore

extension QEMUMachine {
    /// The swapper for this VM's GPUs, journaling into its state folder.
    public func swapper() -> GPUSwapper {
        GPUSwapper(spec: spec, journal: SwapJournalStore(path: paths.journalFile), fileSystem: hostFileSystem, logger: logger)
    }

    /// Hands GPU `index` to the running guest (`vm gpu attach`).
    public func attachGPU(_ index: Int, force: Bool = false, swapper: GPUSwapper? = nil) async throws -> SwapReport {
        let lock = try await lock()
        defer { withExtendedLifetime(lock) {} }
        let client = try await runningClient()
        defer { client.close() }
        return try await attach(gpu: index, client: client, force: force, swapper: swapper ?? self.swapper())
    }

    /// Takes GPU `index` back from the guest (`vm gpu detach`).
    public func detachGPU(_ index: Int, swapper: GPUSwapper? = nil) async throws -> SwapReport {
        let lock = try await lock()
        defer { withExtendedLifetime(lock) {} }
        let client = try await runningClient()
        defer { client.close() }
        return try await detach(gpu: index, client: client, swapper: swapper ?? self.swapper())
    }

    /// Finishes or rolls back an interrupted swap (`vm gpu recover`), with QMP when the VM runs;
    /// then gives the host back a display GPU a run took (`host = "release"`) when the VM is
    /// gone, or when it runs without that GPU in it (`plug = "hot"`).
    public func recoverGPU(swapper: GPUSwapper? = nil) async throws -> [String] {
        let lock = try await lock()
        defer { withExtendedLifetime(lock) {} }
        var client: QMPClient?
        if case .alive(let pid) = probe() { client = try await supervisorClient(pid: pid) }
        defer { client?.close() }
        return try await recover(client: client, swapper: swapper ?? self.swapper())
    }

    /// A QMP connection to this VM, which must be running.
    func runningClient() async throws -> QMPClient {
        guard case .alive(let pid) = probe() else { throw HandoverError.notRunning(name: spec.name.rawValue, backend: .qemu) }
        return try await supervisorClient(pid: pid)
    }

    /// Gives back to the host a GPU that a journal still records while QEMU is gone (crash, or
    /// `vm down` of a VM holding a hot-plugged GPU). Called with the VM lock held.
    func returnGPUsLeftBehind() async throws {
        let swapper = swapper()
        guard try swapper.journal.read() != nil else { return }
        for line in try await swapper.recover(client: nil) {
            logger.notice("\(line)")
        }
    }
}

extension QEMUMachine: GPUSwapping {
    public func plan(attach index: Int) throws -> [String] {
        releasesOnAttach(index) ? try planHotRelease(attach: index) : try swapper().plan(attach: index)
    }

    public func plan(detach index: Int) throws -> [String] {
        releasesOnAttach(index) ? try planHotRelease(detach: index) : try swapper().plan(detach: index)
    }

    public func attach(gpu index: Int, force: Bool) async throws -> SwapReport {
        try await attachGPU(index, force: force)
    }

    public func detach(gpu index: Int) async throws -> SwapReport {
        try await detachGPU(index)
    }

    public func recover() async throws -> [String] {
        try await recoverGPU()
    }

    /// A GPU the journal records in the running guest is detached; any other recorded swap is
    /// finished or rolled back (``recoverGPU(swapper:)``), as is a hot display GPU left released.
    /// Nothing recorded: nothing to do.
    public func returnGPUs() async throws -> [String] {
        guard let journal = try swapper().journal.read() else {
            return hostDisplayReleased && releasedGPU?.gpu.plug == .hot ? try await recoverGPU() : []
        }
        if journal.phase == .inGuest, await status().state == .running {
            _ = try await detachGPU(journal.gpu)
            return ["gpu[\(journal.gpu)] detached and returned to the host"]
        }
        return try await recoverGPU()
    }
}

import Handover
import HostLinux
import QMP
import VMCore

/// `[[gpu]] plug = "hot"` with `host = "release"`: the host's display GPU goes to the running
/// guest at `vm gpu attach` and comes back at `vm gpu detach`. The host's side (desktop,
/// consoles, framebuffer, modules, vfio-pci) is the release journal's, the guest's side
/// (`device_add`/`device_del`) the swap journal's: released first and given back last, so that
/// undoing the swap journal and then the release journal, whoever does it (`vm gpu detach`, the
/// supervisor's teardown, `vm down`, `vm gpu recover`, the next `vm up`), puts the host back.
extension QEMUMachine {
    /// Hands GPU `index` to the guest behind `client`: the host's display GPU is released first
    /// (``releaseHostDisplay(force:)``, journaled; `force` ends the processes still holding it)
    /// and given back when the hand-over fails and left nothing in the guest.
    func attach(gpu index: Int, client: QMPClient, force: Bool, swapper: GPUSwapper) async throws -> SwapReport {
        guard releasesOnAttach(index) else { return try await swapper.attach(gpu: index, client: client, force: force) }
        try swapper.checkCanAttach(index)
        guard !hostDisplayReleased else { throw HandoverError.pendingSwap(phase: "releasing the host's display GPU") }
        let released = try await releaseHostDisplay(force: force)
        do {
            var report = try await swapper.attach(gpu: index, client: client, force: force)
            report.steps = released + report.steps
            return report
        } catch let interruption as SwapInterrupted {
            throw interruption
        } catch {
            // A swap journal left behind (its rollback failed) keeps the card for `vm gpu recover`.
            if try swapper.journal.read() == nil {
                do {
                    _ = try restoreHostDisplay()
                } catch {
                    logger.error("\(error)")
                }
            }
            throw error
        }
    }

    /// Takes GPU `index` back from the guest behind `client`; the host's display GPU then goes
    /// back to the host (``restoreHostDisplay()``).
    func detach(gpu index: Int, client: QMPClient, swapper: GPUSwapper) async throws -> SwapReport {
        var report = try await swapper.detach(gpu: index, client: client)
        if releasesOnAttach(index) { report.steps += try restoreHostDisplay() }
        return report
    }

    /// Finishes or rolls back an interrupted swap (with `client` when the VM runs), then gives
    /// the host its display GPU back unless it is, as recorded, in the running guest.
    func recover(client: QMPClient?, swapper: GPUSwapper) async throws -> [String] {
        let swapped = try await swapper.recover(client: client)
        if client != nil {
            // A running VM keeps a display GPU plugged at boot, and a hot one that is in it.
            guard let released = releasedGPU, released.gpu.plug == .hot, try swapper.journal.read()?.gpu != released.index else { return swapped }
        }
        return swapped + (try restoreHostDisplay())
    }

    /// `vm gpu attach --dry-run` of the host's display GPU: the release, then the swap.
    func planHotRelease(attach index: Int) throws -> [String] {
        let swap = try swapper().plan(attach: index, released: true)
        guard let plan = try releasePlan() else { return swap }
        return ["release the host's display GPU:"] + plan.lines(givenBack: "given back at vm gpu detach or the end of the run")
            + ["then hand it to the guest:"] + swap
    }

    /// `vm gpu detach --dry-run` of the host's display GPU: the unplug, then the way back the
    /// release journal records (or, with none, the one a release now would have).
    func planHotRelease(detach index: Int) throws -> [String] {
        let swap = try swapper().plan(detach: index, released: true)
        let back = try hostReleaseRecord.read(root: hostFileSystem.root).map { $0.steps.reversed().compactMap(\.inverseSummary) }
            ?? releasePlan()?.wayBack ?? []
        return swap + ["then give the host its display GPU back:"] + back
    }
}

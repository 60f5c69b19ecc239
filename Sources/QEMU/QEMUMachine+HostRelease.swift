import FoundationEssentials
import Glibc
import HostLinux
import VMCore

/// The steps that took a run's display GPU from the host (`[[gpu]] host = "release"`), begun
/// so far: journaled before each step, undone in reverse order when the run ends.
struct HostReleaseJournal: Codable {
    /// Index of the GPU in the definition.
    var gpu: Int
    var steps: [ReleaseStep]
}

extension QEMUMachine {
    var hostReleaseRecord: HostChangeRecord<HostReleaseJournal> { HostChangeRecord(path: paths.hostReleaseJournal) }

    /// The GPU the host gives up (for the run when plugged at boot, while it is in the guest
    /// when plugged hot), if the definition has one.
    var releasedGPU: (index: Int, gpu: GPUPassthrough, options: HostReleaseOptions)? {
        spec.gpus.enumerated().lazy.compactMap { index, gpu in gpu.hostRelease.map { (index, gpu, $0) } }.first
    }

    /// Whether the host gives up its display GPU for the whole run (`plug = "boot"`): `vm up`
    /// releases it.
    var releasesAtStart: Bool { releasedGPU?.gpu.plug == .boot }

    /// Whether GPU `index` is the host's display handed over while the VM runs (`plug = "hot"`):
    /// `vm gpu attach` releases it and `vm gpu detach` gives it back.
    func releasesOnAttach(_ index: Int) -> Bool {
        guard let released = releasedGPU else { return false }
        return released.index == index && released.gpu.plug == .hot
    }

    /// Runs `systemctl`, `modprobe` and `kill` for the release: ``releaseCommands`` when set,
    /// else the host's programs, which on a host root other than `/` are only logged.
    var releaseRunner: any HostCommandRunner {
        if let releaseCommands { return releaseCommands }
        guard hostFileSystem.root.isSystemRoot else {
            let logger = logger
            return SkippingCommandRunner { logger.notice("\($0)") }
        }
        return ProcessCommandRunner()
    }

    /// The steps that would take this VM's display GPU from the host now, or nil when the
    /// definition has no `host = "release"` GPU (`vm gpu release-plan`).
    public func releasePlan() throws -> HostReleasePlan? {
        guard let (_, gpu, options) = releasedGPU else { return nil }
        let facts = try HostDisplayReader(fileSystem: hostFileSystem).facts(functions: gpu.functions)
        return HostReleasePlan.make(facts: facts, options: options)
    }

    /// Takes the display GPU from the host (``HostReleaser``), journaling each step first; on
    /// failure the host is put back before the error is thrown. `force` ends the processes that
    /// still hold the card. Returns the steps taken.
    @discardableResult
    func releaseHostDisplay(force: Bool) async throws -> [String] {
        guard let (index, gpu, _) = releasedGPU, let plan = try releasePlan(),
              let slot = gpu.slot ?? gpu.functions.first?.pciSlot else { return [] }
        let record = hostReleaseRecord
        let root = hostFileSystem.root
        logger.notice("taking gpu[\(index)] from the host: \(plan.steps.map(\.summary).joined(separator: "; "))")
        try await HostReleaser(vm: spec.name.rawValue, fileSystem: hostFileSystem, runner: releaseRunner).release(plan, slot: slot, force: force) { steps in
            if steps.isEmpty { try record.remove() } else { try record.save(HostReleaseJournal(gpu: index, steps: steps), root: root) }
        }
        return plan.steps.map(\.summary)
    }

    /// Whether the host's display GPU is released now (a journal records steps to undo).
    var hostDisplayReleased: Bool { FileManager.default.fileExists(atPath: paths.hostReleaseJournal) }

    /// Gives the host its display GPU back as the journal records it: host drivers, modules,
    /// framebuffers, consoles, desktop, in that order. Steps that fail stay in the journal for
    /// `vm gpu recover` (``ReleaseError/restoreFailed(_:)``). Returns what was done.
    func restoreHostDisplay() throws -> [String] {
        let record = hostReleaseRecord
        let root = hostFileSystem.root
        var done: [String] = []
        try record.undo(root: root) { journal in
            let failures = HostReleaser(vm: spec.name.rawValue, fileSystem: hostFileSystem, runner: releaseRunner).restore(journal.steps)
            guard failures.isEmpty else {
                try record.save(HostReleaseJournal(gpu: journal.gpu, steps: failures.map(\.step)), root: root)
                throw ReleaseError.restoreFailed(failures.map(\.description), vm: spec.name.rawValue)
            }
            done = journal.steps.reversed().compactMap(\.inverseSummary)
        }
        for line in done { logger.notice("\(spec.name): \(line)") }
        return done
    }
}

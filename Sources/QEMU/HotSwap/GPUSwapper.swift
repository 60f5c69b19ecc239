import FoundationEssentials
import Glibc
import Handover
import HostLinux
import Logging
import QMP
import VMCore

/// Moves a GPU's functions between the host's drivers and a running guest: sysfs binding through
/// ``DriverBinder`` and QMP `device_add`/`device_del`, every step journaled first so an
/// interruption is finished or rolled back by ``recover(client:)``.
public struct GPUSwapper: Sendable {
    public let spec: VMSpec
    public let journal: SwapJournalStore
    /// Moves functions between drivers (its timeouts can be tuned).
    public var binder: DriverBinder
    /// The IOMMU group and holder checks before a card leaves the host.
    public let preCheck: HostPreCheck
    public let logger: Logger
    /// How long the guest may take to release the GPU after `device_del`.
    public var unplugTimeout: Duration = .seconds(30)
    /// Called after each journal write, before the step it announces; a fault-injection seam
    /// (throw ``SwapInterrupted`` to stop as a killed process would). A no-op normally.
    public var checkpoint: @Sendable (SwapJournal.Phase, String) throws -> Void = { _, _ in }

    public init(spec: VMSpec, journal: SwapJournalStore, fileSystem: any HostFileSystem, logger: Logger) {
        self.spec = spec
        self.journal = journal
        self.binder = DriverBinder(fileSystem: fileSystem)
        self.preCheck = HostPreCheck(fileSystem: fileSystem)
        self.logger = logger
    }

    /// The QEMU devices of GPU `index`, function 0 last.
    func devices(of index: Int) -> [GPUFunctionDevice] {
        QEMUCommandLine.gpuDevices(spec.gpus[index], index: index)
    }

    func hotGPU(_ index: Int) throws -> GPUPassthrough {
        guard spec.gpus.indices.contains(index) else { throw HandoverError.noSuchGPU(index: index, count: spec.gpus.count) }
        let gpu = spec.gpus[index]
        guard gpu.plug == .hot else { throw HandoverError.bootPlugged(index: index) }
        return gpu
    }

    /// What ``attach(gpu:client:force:)`` would do, one line per step; `released`: the host's
    /// display GPU, on vfio-pci already once the host released it.
    public func plan(attach index: Int, released: Bool = false) throws -> [String] {
        let gpu = try hotGPU(index)
        var lines: [String] = []
        if gpu.device == .vfioPCI, !released {
            lines.append("check that no host process holds \(gpu.functions.map(\.description).joined(separator: ", "))")
            for function in gpu.functions {
                lines.append("bind \(function) to vfio-pci (driver_override, unbind, drivers_probe), remembering its driver")
            }
        }
        for device in devices(of: index) {
            lines.append("device_add \(device.commandLineValue)")
        }
        lines.append("check that QEMU has \(devices(of: index).map(\.id).joined(separator: ", ")) (qom-list /machine/peripheral)")
        return lines
    }

    /// What ``detach(gpu:client:)`` would do, one line per step; `released`: the host's display
    /// GPU, which stays on vfio-pci for the host's own way back.
    public func plan(detach index: Int, released: Bool = false) throws -> [String] {
        let gpu = try hotGPU(index)
        let ids = devices(of: index).map(\.id)
        var lines = ["device_del \(ids.last ?? "") (function 0: the guest releases the whole slot)",
                     "wait for DEVICE_DELETED of \(ids.joined(separator: ", ")) (at most \(unplugTimeout))"]
        if gpu.device == .vfioPCI, !released {
            lines += gpu.functions.map { "give \($0) back to the driver it had before the attach" }
        }
        return lines
    }

    /// The recorded swap, or nil; a journal this VM's swaps could not have written is refused
    /// before anything is touched (``HandoverError/untrustedJournal(path:reason:)``).
    func recordedSwap() throws -> SwapJournal? {
        let read: SwapJournal?
        do {
            read = try journal.read()
        } catch is DecodingError {
            throw HandoverError.untrustedJournal(path: journal.path, reason: "it is not a swap journal vm wrote")
        }
        guard let record = read else { return nil }
        // A GPU given by its slot alone has its functions read from the host (`vm down` does not resolve them).
        let devices = PCIDeviceReader(fileSystem: binder.fileSystem)
        let resolved = spec.resolvedForLaunch(exists: { _ in false },
                                              functionsOfSlot: { ((try? devices.functions(of: $0)) ?? []).map(\.address) })
        if let reason = Self.problem(with: record, spec: resolved) {
            throw HandoverError.untrustedJournal(path: journal.path, reason: reason)
        }
        return record
    }

    /// Why `record` cannot be a journal of `spec`'s swaps: it must name this VM, one of its GPUs,
    /// that GPU's QEMU device ids and exactly its functions (which share the slot's IOMMU group,
    /// checked again before any is moved).
    static func problem(with record: SwapJournal, spec: VMSpec) -> String? {
        guard record.vm == spec.name.rawValue else { return "it is for VM '\(record.vm)', not \(spec.name)" }
        guard spec.gpus.indices.contains(record.gpu) else { return "gpu[\(record.gpu)] is not in the definition" }
        let gpu = spec.gpus[record.gpu]
        let ids = QEMUCommandLine.gpuDevices(gpu, index: record.gpu).map(\.id)
        guard record.deviceIDs.count == ids.count, Set(record.deviceIDs) == Set(ids) else {
            return "its devices \(record.deviceIDs.joined(separator: ", ")) are not gpu[\(record.gpu)]'s (\(ids.joined(separator: ", ")))"
        }
        guard gpu.device == .vfioPCI else {
            return record.originals.isEmpty ? nil : "it records host drivers for gpu[\(record.gpu)], which has no host side"
        }
        return FunctionBinding.problem(in: record.originals, expected: gpu.functions)
    }

    // MARK: - attach

    /// Refuses an attach of GPU `index` that the swap journal stands against: the GPU is in the
    /// guest already, or an earlier swap was interrupted. Changes nothing.
    public func checkCanAttach(_ index: Int) throws {
        _ = try hotGPU(index)
        if let pending = try recordedSwap() {
            throw pending.gpu == index && pending.phase == .inGuest ? HandoverError.alreadyInGuest(index: index, aliases: [])
                : HandoverError.pendingSwap(phase: pending.phase.rawValue)
        }
    }

    /// Hands GPU `index` from the host to the running guest.
    public func attach(gpu index: Int, client: QMPClient, force: Bool = false) async throws -> SwapReport {
        let gpu = try hotGPU(index)
        try checkCanAttach(index)
        var clock = SwapClock()
        let devices = devices(of: index)
        var verified: VerifiedSlot?
        var originals: [FunctionBinding] = []
        if gpu.device == .vfioPCI {
            let (slot, held) = try preCheck.verify(gpu.slot ?? gpu.functions[0].pciSlot, functions: gpu.functions)
            if let warning = try HostPreCheck.refuseHolders(held, force: force) { logger.warning("\(warning)") }
            originals = slot.functions.filter { gpu.functions.contains($0.address) }
                .map { FunctionBinding(address: $0.address, originalDriver: $0.driver, originalOverride: $0.driverOverride) }
            verified = slot
        }
        var record = SwapJournal(vm: spec.name.rawValue, gpu: index, phase: .bindingToVFIO, originals: originals, deviceIDs: devices.map(\.id))
        var steps: [String] = []
        var step = "journal"
        do {
            try journal.write(record)
            if let verified {
                for original in originals {
                    step = "binding \(original.address) to vfio-pci"
                    try checkpoint(.bindingToVFIO, original.address.description)
                    _ = try binder.bindToVFIO(original.address, in: verified)
                    steps.append(original.originalDriver == vfioDriverName ? "\(original.address): on vfio-pci already"
                                 : "\(original.address): \(original.originalDriver ?? "no driver") -> vfio-pci")
                }
            }
            record.phase = .plugging
            try journal.write(record)
            for device in devices {
                step = "device_add \(device.id)"
                try checkpoint(.plugging, device.id)
                try await clock.waiting { try await client.deviceAdd(driver: device.driver, id: device.id, properties: device.qmpProperties) }
                steps.append("device_add \(device.id) (\(device.driver))")
            }
            step = "qom-list"
            let present = Set(try await clock.waiting { try await client.peripheralIDs() })
            let missing = devices.map(\.id).filter { !present.contains($0) }
            guard missing.isEmpty else { throw HandoverError.notVisibleInGuest(missing, backend: .qemu) }
            record.phase = .inGuest
            try journal.write(record)
            try checkpoint(.inGuest, "done")
        } catch let interruption as SwapInterrupted {
            throw interruption
        } catch {
            logger.error("attach failed at \(step): \(error); rolling back")
            let rolledBack = (try? await undo(record, client: client)) != nil
            throw HandoverError.stepFailed(step: step, reason: "\(error)", rolledBack: rolledBack, backend: .qemu)
        }
        return clock.report(gpu: index, devices: devices.map(\.id), steps: steps)
    }

    // MARK: - detach

    /// Takes GPU `index` back from the guest and returns its functions to their original drivers.
    public func detach(gpu index: Int, client: QMPClient) async throws -> SwapReport {
        _ = try hotGPU(index)
        guard let record = try recordedSwap(), record.gpu == index else { throw HandoverError.notInGuest(index: index) }
        guard record.phase == .inGuest else { throw HandoverError.pendingSwap(phase: record.phase.rawValue) }
        var clock = SwapClock()
        let steps = try await undo(record, client: client, clock: &clock)
        return clock.report(gpu: index, devices: record.deviceIDs, steps: steps)
    }

    // MARK: - recover

    /// Finishes or rolls back an interrupted swap. With the VM running (`client` given), a GPU
    /// fully in the guest stays there; anything half-done is unplugged and given back. With the
    /// VM gone, every function goes back to its original driver. Devices of hot GPUs that the
    /// journal does not know of are unplugged. Returns what was done.
    public func recover(client: QMPClient?) async throws -> [String] {
        var clock = SwapClock()
        guard let record = try recordedSwap() else {
            return try await unplugUnknownDevices(client: client, clock: &clock)
        }
        if record.phase == .inGuest, client != nil {
            return ["gpu[\(record.gpu)] is in the guest as recorded; nothing to recover (`vm gpu detach` takes it back)"]
        }
        return try await undo(record, client: client, clock: &clock)
    }

    private func unplugUnknownDevices(client: QMPClient?, clock: inout SwapClock) async throws -> [String] {
        guard let client else { return ["no swap recorded; nothing to recover"] }
        let known = Set(spec.gpus.indices.filter { spec.gpus[$0].plug == .hot }.flatMap { devices(of: $0).map(\.id) })
        let present = try await client.peripheralIDs().filter(known.contains)
        guard !present.isEmpty else { return ["no swap recorded and no unknown GPU device in the guest; nothing to recover"] }
        try await unplug(present, client: client, clock: &clock)
        return ["unplugged \(present.joined(separator: ", ")), which no journal recorded"]
    }

    /// Unplugs what of `record` is in the guest, gives every function back, removes the journal.
    private func undo(_ record: SwapJournal, client: QMPClient?) async throws {
        var clock = SwapClock()
        _ = try await undo(record, client: client, clock: &clock)
    }

    private func undo(_ start: SwapJournal, client: QMPClient?, clock: inout SwapClock) async throws -> [String] {
        var record = start
        var steps: [String] = []
        if let client {
            let present = Set(try await clock.waiting { try await client.peripheralIDs() })
            let inGuest = record.deviceIDs.filter(present.contains)
            if !inGuest.isEmpty {
                record.phase = .unplugging
                try journal.write(record)
                try checkpoint(.unplugging, inGuest.joined(separator: ","))
                try await unplug(inGuest, client: client, clock: &clock)
                steps.append("device_del \(inGuest.joined(separator: ", ")): DEVICE_DELETED")
            }
        }
        record.phase = .returningToHost
        try journal.write(record)
        if !record.originals.isEmpty, let slot = record.originals.first?.address.pciSlot {
            let verified = try binder.verify(slot, requireIsolatedGroup: false)
            for original in record.originals {
                try checkpoint(.returningToHost, original.address.description)
                try binder.returnToHost(original, in: verified)
                steps.append(original.originalDriver == vfioDriverName ? "\(original.address): stays on vfio-pci"
                             : "\(original.address): vfio-pci -> \(original.originalDriver ?? "no driver")")
            }
        }
        try journal.remove()
        return steps
    }

    /// `device_del` of function 0 (or of each function when function 0 never made it in), then
    /// waits for every `DEVICE_DELETED`; a busy guest is asked again; a silent one is checked
    /// with `qom-list` before giving up.
    private func unplug(_ ids: [String], client: QMPClient, clock: inout SwapClock) async throws {
        let primary = ids.first { $0.hasSuffix("-f0") }
        let targets = primary.map { [$0] } ?? ids
        let watch = client.watchDeviceDeletion(ids: ids)
        let deadline = ContinuousClock.now + unplugTimeout
        for target in targets {
            while true {
                do {
                    try await clock.waiting { try await client.deviceDel(id: target) }
                    break
                } catch QMPError.guestBusy where ContinuousClock.now < deadline {
                    logger.notice("the guest is busy with \(target); asking again")
                    try await Task.sleep(for: .seconds(1))
                }
            }
        }
        do {
            try await clock.waiting { try await watch.wait(timeout: max(.seconds(1), deadline - ContinuousClock.now)) }
        } catch QMPError.timeout {
            let still = Set(try await client.peripheralIDs())
            let remaining = ids.filter(still.contains)
            guard remaining.isEmpty else {
                throw HandoverError.unplugTimedOut(stillPresent: remaining, timeout: unplugTimeout)
            }
        }
    }
}

extension GPUFunctionDevice {
    /// The properties as `device_add` arguments: `on`/`off` become booleans, the id is separate.
    var qmpProperties: [String: JSONValue] {
        var arguments: [String: JSONValue] = [:]
        for (key, value) in properties where key != "id" {
            switch value {
            case "on": arguments[key] = .bool(true)
            case "off": arguments[key] = .bool(false)
            default: arguments[key] = .string(value)
            }
        }
        return arguments
    }
}

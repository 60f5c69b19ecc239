import FoundationEssentials
import Glibc
import VMCore

/// Why the host's display GPU was not released, or not given back.
public enum ReleaseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Processes still hold the card after the timeout; the host was put back as it was.
    case held([DeviceHolder], seconds: Double, forced: Bool)
    /// A step failed; `rolledBack` tells whether the steps before it were undone.
    case stepFailed(step: String, reason: String, rolledBack: Bool, vm: String)
    /// Steps of the way back failed; they stay in the journal for `vm gpu recover`.
    case restoreFailed([String], vm: String)

    public var description: String {
        switch self {
        case let .held(holders, seconds, forced):
            let names = holders.map { "\($0.command) (pid \($0.pid), \($0.deviceNode))" }.joined(separator: ", ")
            return forced
                ? "these processes still hold the GPU after SIGTERM and SIGKILL: \(names); the desktop was started again and nothing else changed"
                : "these processes still hold the GPU \(seconds.secondsText) s after the desktop stopped: \(names); the desktop was started again and nothing else changed (fix: close them, or run again with --force to end them with SIGTERM, then SIGKILL)"
        case let .stepFailed(step, reason, rolledBack, vm):
            return "releasing the GPU failed at \"\(step)\": \(reason); "
                + (rolledBack ? "the host was put back as it was" : "putting the host back failed too: from a text console (Ctrl+Alt+F3) or ssh, run `vm gpu recover \(vm)`")
        case let .restoreFailed(failures, vm):
            return "giving the GPU back to the host left steps undone: \(failures.joined(separator: "; ")) (from a text console (Ctrl+Alt+F3) or ssh: `vm gpu recover \(vm)` tries them again)"
        }
    }
}

/// Thrown by a fault-injection journal to stop a release as a killed process would: nothing is
/// undone, and the journal says what `vm gpu recover` must undo.
public struct ReleaseInterrupted: Error, Equatable {
    public init() {}
}

/// Reads ``HostDisplayFacts`` under the host root.
public struct HostDisplayReader: Sendable {
    public let fileSystem: any HostFileSystem

    public init(fileSystem: any HostFileSystem) {
        self.fileSystem = fileSystem
    }

    /// The facts around the GPU made of `functions`.
    public func facts(functions addresses: [PCIAddress]) throws -> HostDisplayFacts {
        let reader = PCIDeviceReader(fileSystem: fileSystem)
        let functions = try addresses.map(reader.device(at:))
        let unit = fileSystem.linkBasename("/etc/systemd/system/display-manager.service")
        let consoles = ((try? fileSystem.contentsOfDirectory("/sys/class/vtconsole")) ?? []).compactMap { entry -> HostDisplayFacts.VTConsole? in
            guard entry.hasPrefix("vtcon"), let index = Int(entry.dropFirst("vtcon".count)) else { return nil }
            let directory = "/sys/class/vtconsole/" + entry
            return HostDisplayFacts.VTConsole(index: index, name: (try? fileSystem.readTrimmed(directory + "/name")) ?? "",
                                              bound: (try? fileSystem.readTrimmed(directory + "/bind")) == "1")
        }.sorted { $0.index < $1.index }
        let framebuffers = PlatformFramebuffer.drivers.flatMap { driver in
            boundDevices(of: driver).map { PlatformFramebuffer(driver: driver, device: $0) }
        }
        let modules = KernelModules(fileSystem: fileSystem)
        let loaded = Set(HostReleasePlan.nvidiaModules.filter { modules.state(of: $0) == .loaded })
        return HostDisplayFacts(functions: functions, displayManagerUnit: unit, vtConsoles: consoles,
                                framebuffers: framebuffers, loadedModules: loaded)
    }

    /// The devices bound to platform driver `driver` (the symlinks in its folder).
    func boundDevices(of driver: String) -> [String] {
        let directory = "/sys/bus/platform/drivers/" + driver
        return ((try? fileSystem.contentsOfDirectory(directory)) ?? []).filter {
            $0 != "module" && (try? fileSystem.readLink(directory + "/" + $0)) != nil
        }
    }
}

/// Carries out a ``HostReleasePlan`` and undoes it: sysfs through the host file system, programs
/// (`systemctl`, `modprobe`, `kill`) through a ``HostCommandRunner`` with argument arrays.
public struct HostReleaser: Sendable {
    /// The VM the GPU is released for (named in the errors' fixes).
    public let vm: String
    public let fileSystem: any HostFileSystem
    public let runner: any HostCommandRunner
    /// Moves the functions between drivers.
    public var binder: DriverBinder
    /// How long each program may run.
    public var commandTimeout: Duration = .seconds(60)
    /// How often the holders are looked for while waiting.
    public var pollInterval: Duration = .milliseconds(100)

    public init(vm: String, fileSystem: any HostFileSystem, runner: any HostCommandRunner) {
        self.vm = vm
        self.fileSystem = fileSystem
        self.runner = runner
        self.binder = DriverBinder(fileSystem: fileSystem)
    }

    /// Runs `plan` step by step. Before each step, `journal` gets every step begun so far
    /// (this one included): it must persist them, so a crash leaves what to undo. `force` ends
    /// the processes that still hold the card (SIGTERM, then SIGKILL) instead of refusing.
    /// On failure every begun step is undone, in reverse order, before the error is thrown.
    public func release(_ plan: HostReleasePlan, slot: PCISlot, force: Bool,
                        journal: @Sendable ([ReleaseStep]) throws -> Void) async throws {
        var begun: [ReleaseStep] = []
        let nodes = HolderScanner(fileSystem: fileSystem).deviceNodes(of: try PCIDeviceReader(fileSystem: fileSystem).functions(of: slot))
        for step in plan.steps {
            begun.append(step)
            do {
                try journal(begun)
                try await perform(step, slot: slot, nodes: nodes, force: force)
            } catch let interruption as ReleaseInterrupted {
                throw interruption
            } catch {
                let failures = restore(begun)
                if failures.isEmpty { try? journal([]) } else { try? journal(failures.map(\.step)) }
                if let held = error as? ReleaseError { throw held }
                throw ReleaseError.stepFailed(step: step.summary, reason: "\(error)", rolledBack: failures.isEmpty, vm: vm)
            }
        }
    }

    private func perform(_ step: ReleaseStep, slot: PCISlot, nodes: DeviceNodeSet, force: Bool) async throws {
        switch step {
        case .stopDisplayManager(let control):
            try run(control.stopCommand)
        case .awaitHolders(let seconds):
            var holders = await waitForHolders(nodes, seconds: seconds)
            guard !holders.isEmpty else { return }
            guard force else { throw ReleaseError.held(holders, seconds: seconds, forced: false) }
            for signal in ["TERM", "KILL"] where !holders.isEmpty {
                try? run(["kill", "-" + signal] + Set(holders.map(\.pid)).sorted().map(String.init))
                holders = await waitForHolders(nodes, seconds: seconds)
            }
            guard holders.isEmpty else { throw ReleaseError.held(holders, seconds: seconds, forced: true) }
        case .unbindVTConsole(let index):
            try fileSystem.writeAttribute("0", to: "/sys/class/vtconsole/vtcon\(index)/bind")
        case let .unbindFramebuffer(driver, device):
            try fileSystem.writeAttribute(device, to: "/sys/bus/platform/drivers/\(driver)/unbind")
        case .unloadModule(let module):
            try run(["modprobe", "-r", module])
        case .bindToVFIO(let binding):
            _ = try binder.bindToVFIO(binding.address, in: try binder.verify(slot))
        }
    }

    /// The holders left after waiting up to `seconds` for them to go.
    private func waitForHolders(_ nodes: DeviceNodeSet, seconds: Double) async -> [DeviceHolder] {
        let scanner = HolderScanner(fileSystem: fileSystem)
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        var holders = scanner.holders(of: nodes)
        while !holders.isEmpty, ContinuousClock.now < deadline {
            try? await Task.sleep(for: pollInterval)
            holders = scanner.holders(of: nodes)
        }
        return holders
    }

    /// A step of the way back that failed, with why.
    public struct Failure: Sendable, CustomStringConvertible {
        public var step: ReleaseStep
        public var reason: String
        public var description: String { "\(step.inverseSummary ?? step.summary): \(reason)" }
    }

    /// Undoes `steps` (as a journal lists them, first step first) in reverse order: the host
    /// drivers back, the modules loaded, the consoles and framebuffers bound, the desktop
    /// started. Each step is tried twice; every step is tried even when one fails. Returns the
    /// steps that still failed, first step first.
    public func restore(_ steps: [ReleaseStep]) -> [Failure] {
        var failures: [Failure] = []
        for step in steps.reversed() {
            do {
                do { try undo(step) } catch { try undo(step) }
            } catch {
                failures.insert(Failure(step: step, reason: "\(error)"), at: 0)
            }
        }
        return failures
    }

    private func undo(_ step: ReleaseStep) throws {
        switch step {
        case .stopDisplayManager(let control):
            try run(control.startCommand)
        case .awaitHolders:
            break
        case .unbindVTConsole(let index):
            try fileSystem.writeAttribute("1", to: "/sys/class/vtconsole/vtcon\(index)/bind")
        case let .unbindFramebuffer(driver, device):
            guard !HostDisplayReader(fileSystem: fileSystem).boundDevices(of: driver).contains(device) else { return }
            try fileSystem.writeAttribute(device, to: "/sys/bus/platform/drivers/\(driver)/bind")
        case .unloadModule(let module):
            try run(["modprobe", module])
        case .bindToVFIO(let binding):
            // A driver whose module is unloaded comes back with the module (a later step back):
            // until then the function only leaves vfio-pci.
            let loaded = binding.originalDriver.map { fileSystem.isDirectory("/sys/bus/pci/drivers/" + $0) } ?? true
            try binder.returnToHost(binding, in: try binder.verify(binding.address.pciSlot, requireIsolatedGroup: false),
                                    expectOriginal: loaded)
        }
    }

    private func run(_ arguments: [String]) throws {
        let result = try runner.run(arguments, timeout: commandTimeout)
        guard result.status == 0 else {
            let detail = result.standardError.trimmingWhitespace()
            throw CommandRunnerError.launchFailed(arguments, "exited with status \(result.status)" + (detail.isEmpty ? "" : ": \(detail)"))
        }
    }
}

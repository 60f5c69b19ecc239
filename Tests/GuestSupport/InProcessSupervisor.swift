import Foundation
import HostLinux
import Logging
import QEMU
import VMCore

/// A VM whose supervisor runs in this process: ``VMSupervisor/run(machine:qemuPID:role:fingerprint:serving:)``,
/// the code the `vm-supervisor` executable runs, with a host file system of the caller's choosing.
/// With a fake kernel (`HostLinuxFakes.FakeKernel`) as the host, the teardown's sysfs writes move
/// the functions of a fake GPU, never this machine's devices; a separate `vm-supervisor` process
/// could not share that fake. QEMU is real, this process's child (the supervisor reaps it, as it
/// reaps the QEMU `vm up` starts), and runs the command line `vm up` builds.
public final class InProcessSupervisor: Sendable {
    /// The VM as its supervisor drives it (its host is the caller's).
    public let machine: QEMUMachine
    /// QEMU's process id.
    public let qemuPID: Int32
    private let ending: Task<Int32, Never>

    private init(machine: QEMUMachine, qemuPID: Int32, ending: Task<Int32, Never>) {
        self.machine = machine
        self.qemuPID = qemuPID
        self.ending = ending
    }

    /// Starts QEMU for `loaded` (its GPUs' functions are read from `host`) and its supervisor in
    /// this process; returns once the supervisor serves the VM's QMP socket. QEMU's output goes
    /// to the VM's QEMU log.
    public static func start(_ loaded: LoadedDefinition, host: any HostFileSystem) async throws -> InProcessSupervisor {
        var logger = Logger(label: "in-process-supervisor")
        logger.logLevel = .warning
        let spec = loaded.spec.resolvedOnHost(host)
        let machine = QEMUMachine(spec: spec, paths: loaded.paths, launcher: try QEMULauncher.locate(), hostFileSystem: host,
                                  logger: logger, definitionFile: loaded.file, passthroughProblems: { _ in [] })
        try PrivateDirectory.make(loaded.paths.stateDirectory)
        try PrivateDirectory.make(loaded.paths.runtimeDirectory)
        let arguments = try QEMUCommandLine.arguments(for: spec, paths: loaded.paths)
        let log = open(loaded.paths.qemuLog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard log >= 0 else { throw InProcessSupervisorError.cannotStart("cannot open \(loaded.paths.qemuLog): errno \(errno)") }
        defer { close(log) }
        let qemu = try ChildProcess([machine.launcher.executable] + arguments, standardOutput: .descriptor(log),
                                    standardError: .descriptor(log))
        let (serving, servingStarted) = AsyncStream<Void>.makeStream()
        let ending = Task {
            let status = await VMSupervisor.run(machine: machine, qemuPID: qemu.pid,
                                                role: .starting(tapDescriptor: nil, resume: true, swtpmPID: nil),
                                                fingerprint: "in-process") { servingStarted.yield() }
            servingStarted.finish()
            return status
        }
        var started = serving.makeAsyncIterator()
        guard await started.next() != nil else {
            qemu.send(SIGKILL)
            let output = (try? String(contentsOfFile: loaded.paths.qemuLog, encoding: .utf8)) ?? ""
            throw InProcessSupervisorError.cannotStart("the supervisor ended before it served (status \(await ending.value)); QEMU's log: \(output)")
        }
        return InProcessSupervisor(machine: machine, qemuPID: qemu.pid, ending: ending)
    }

    /// Records GPU `index` as in the guest, the way `vm gpu attach` leaves it: its functions moved
    /// to vfio-pci on the host and the swap journal in its `in-guest` phase. QEMU is not asked to
    /// plug anything (the host's functions are fake). Returns the functions as they were before.
    public func recordGPUInGuest(_ index: Int) throws -> [FunctionBinding] {
        let swapper = machine.swapper()
        let gpu = machine.spec.gpus[index]
        guard let slot = gpu.functions.first?.pciSlot else { throw InProcessSupervisorError.noFunctions(gpu: index) }
        let originals = try swapper.binder.bindSlotToVFIO(try swapper.binder.verify(slot, requireIsolatedGroup: false))
        try swapper.journal.write(SwapJournal(vm: machine.spec.name.rawValue, gpu: index, phase: .inGuest, originals: originals,
                                              deviceIDs: QEMUCommandLine.gpuDevices(gpu, index: index).map(\.id)))
        return originals
    }

    /// Waits until QEMU has ended and the supervisor has torn down and returned; its exit status.
    public func end() async -> Int32 {
        await ending.value
    }
}

/// Why an ``InProcessSupervisor`` did not start.
public enum InProcessSupervisorError: Error, CustomStringConvertible {
    /// QEMU or its supervisor did not come up; the reason carries QEMU's log.
    case cannotStart(String)
    /// The host has no functions for the GPU's slot.
    case noFunctions(gpu: Int)

    public var description: String {
        switch self {
        case .cannotStart(let reason): "in-process supervisor: \(reason)"
        case .noFunctions(let gpu): "in-process supervisor: the host has no functions for gpu[\(gpu)]'s slot"
        }
    }
}

import FoundationEssentials
import Glibc
import HostLinux
import Logging
import Network
import QMP
import VMCore

/// Why `vm up` refused or failed.
public enum UpError: Error, CustomStringConvertible {
    case alreadyRunning(name: String, pid: Int32)
    case launchFailed(LaunchError)
    case monitorUnreachable(QMPError)
    /// QEMU answered but the pidfile that `vm status` and `vm down` go by does not name it.
    case pidfileMismatch(path: String, pid: Int32)
    /// The macvtap link or the NIC hand-over failed.
    case networkSetupFailed(String)
    /// The VM's supervisor ended before it served the VM's QMP socket; `log` is what it wrote.
    case supervisorFailed(log: String)
    /// `vm up` was given no definition file to hand to the supervisor.
    case noDefinitionFile
    /// The `vm-supervisor` executable is not where `vm` looks for it (next to itself).
    case supervisorMissing(path: String)

    public var description: String {
        switch self {
        case .alreadyRunning(let name, let pid):
            return "\(name) is already running (QEMU pid \(pid)); `vm status \(name)` shows it, `vm down \(name)` stops it"
        case .launchFailed(let error):
            return error.description
        case .monitorUnreachable(let error):
            return "QEMU started but its monitor did not answer: \(error)"
        case .pidfileMismatch(let path, let pid):
            return "QEMU (pid \(pid)) started but its pidfile \(path) does not name it; extra_args must not set -pidfile"
        case .networkSetupFailed(let why):
            return "macvtap network setup failed: \(why); `vm net check` shows what the host lacks"
        case .supervisorFailed(let log):
            let text = log.trimmingWhitespace()
            return "the VM's supervisor ended before it served the QMP socket; QEMU was stopped"
                + (text.isEmpty ? "" : ". Its log:\n\(text)")
        case .noDefinitionFile:
            return "no definition file to start the VM's supervisor with (load the VM from its NAME.toml)"
        case .supervisorMissing(let path):
            return "the VM's supervisor \(path) is missing or not executable: vm-supervisor belongs next to vm "
                + "(scripts/install installs both; from a checkout: swift build --product vm-supervisor)"
        }
    }
}

/// The VM's supervisor runs and takes connections but did not greet and negotiate QMP in time
/// (stopped with SIGSTOP, or stuck). QEMU runs on; `vm down --force` replaces the supervisor.
public struct UnresponsiveSupervisor: Error, CustomStringConvertible {
    public let vm: String
    public let pid: Int32
    public let waited: Duration

    public var description: String {
        "the supervisor of \(vm) (pid \(pid)) did not answer within \(waited.components.seconds) s; QEMU runs on. "
            + "If it was stopped, `kill -CONT \(pid)` wakes it; `vm down --force \(vm)` ends it and stops the VM"
    }
}

/// A QEMU-backed VM: brings it up with a command line we build, and down and inspects it over QMP.
public struct QEMUMachine: VMBackend {
    /// The resolved definition (firmware found, GPU functions expanded).
    public let spec: VMSpec
    public let paths: VMPaths
    public let processes: any ProcessTable
    public let launcher: QEMULauncher
    /// The host's sysfs/procfs/etc (under `VM_HOST_ROOT`), for GPU hand-overs and the bridge-helper check.
    public var hostFileSystem: any HostFileSystem
    public let logger: Logger
    /// Returns the problems that keep the boot-plugged passthrough devices from being used
    /// (driver not vfio-pci, IOMMU group not viable), each with its fix; empty when ready.
    public let passthroughProblems: @Sendable (VMSpec) -> [String]
    /// Runs `ip` for the macvtap link (tests wrap it in `ip netns exec`).
    public var hostCommands: any HostCommandRunner = ProcessCommandRunner()
    /// The definition file the VM's supervisor loads (nil: this machine cannot be started).
    public let definitionFile: String?
    /// The `vm-supervisor` executable that runs the VM's supervisor.
    public let supervisorExecutable: String
    /// `host = "release"`: end the processes that still hold the card (SIGTERM, then SIGKILL)
    /// instead of refusing (`vm up --force`).
    public var releaseForce = false
    /// Runs `systemctl`, `modprobe` and `kill` for `host = "release"` (nil: see ``releaseRunner``).
    public var releaseCommands: (any HostCommandRunner)?
    /// The QEMU that a local libvirtd runs for the VM of this name, which `up` refuses to start
    /// beside (``OtherBackend/libvirtQEMU(named:)``; `vm up` may have looked already, while it parsed
    /// its command line).
    public var libvirtQEMU: @Sendable (String) async -> Int32? = { OtherBackend.libvirtQEMU(named: $0) }

    public init(spec: VMSpec, paths: VMPaths, launcher: QEMULauncher, processes: any ProcessTable = SystemProcessTable(),
                hostFileSystem: any HostFileSystem = RootedFileSystem(root: .fromEnvironment()),
                logger: Logger = Logger(label: "vm.qemu"),
                definitionFile: String? = nil,
                supervisorExecutable: String = SupervisorInvocation.currentExecutable,
                passthroughProblems: @escaping @Sendable (VMSpec) -> [String]) {
        self.spec = spec
        self.paths = paths
        self.definitionFile = definitionFile
        self.supervisorExecutable = supervisorExecutable
        self.launcher = launcher
        self.processes = processes
        self.hostFileSystem = hostFileSystem
        self.logger = logger
        self.passthroughProblems = passthroughProblems
    }

    /// The VM's public QMP socket, served by its supervisor.
    public var qmpSocket: String { spec.qmpSocket(in: paths) }

    /// What the VM's supervisor is told.
    func supervisorInvocation() throws(UpError) -> SupervisorInvocation {
        guard let definitionFile else { throw .noDefinitionFile }
        guard FileManager.default.isExecutableFile(atPath: supervisorExecutable) else { throw .supervisorMissing(path: supervisorExecutable) }
        return SupervisorInvocation(executable: supervisorExecutable, definitionFile: URL(fileURLWithPath: definitionFile).path,
                                    paths: paths)
    }

    /// The record of the last run (nil when there is none or it cannot be trusted; the latter is
    /// logged as a warning).
    public func runRecord() -> RunRecord? {
        switch RunRecordStore(path: paths.runRecord, vm: spec.name.rawValue).read() {
        case .none: return nil
        case .valid(let record): return record
        case .invalid(let why):
            logger.warning("\(why)")
            return nil
        }
    }

    // MARK: - Runtime files

    /// What the runtime folder says about the last QEMU of this VM.
    enum RuntimeProbe: Equatable {
        /// Nothing there.
        case clean
        /// Our QEMU runs with this pid.
        case alive(Int32)
        /// The pidfile is left but its process is gone (killed or crashed: QEMU removes the
        /// pidfile itself when it exits normally).
        case crashed(Int32?)
        /// QEMU exited normally (guest powered off) and left its sockets.
        case exited
    }

    func probe() -> RuntimeProbe {
        guard FileManager.default.fileExists(atPath: paths.runtimeDirectory) else { return .clean }
        guard let text = try? String(contentsOfFile: paths.pidFile, encoding: .utf8) else {
            let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: paths.runtimeDirectory)) ?? []
            return leftovers.isEmpty ? .clean : .exited
        }
        guard let pid = QEMUPidFile.pid(in: text) else { return .crashed(nil) }
        return isOurQEMU(pid) ? .alive(pid) : .crashed(pid)
    }

    /// Whether this VM's QEMU runs now.
    public var isRunning: Bool {
        if case .alive = probe() { return true }
        return false
    }

    /// Our QEMU, not a process that reused the pid.
    func isOurQEMU(_ pid: Int32) -> Bool {
        guard processes.isAlive(pid), let argv = processes.commandLine(of: pid) else { return false }
        return argv.contains("guest=\(spec.name),process=vm-\(spec.name)")
    }

    /// Removes the runtime folder (sockets, pidfile, supervisor lock).
    func cleanRuntimeDirectory() {
        try? FileManager.default.removeItem(atPath: paths.runtimeDirectory)
    }

    func lock() async throws -> VMLock {
        try PrivateDirectory.make(paths.stateDirectory)
        return try await VMLock(path: paths.lockFile)
    }

    // MARK: - up

    /// Starts the VM: refuses when it runs, cleans stale state, checks KVM and passthrough,
    /// starts QEMU in the background (``QEMULauncher``) and returns once its monitor answers.
    public func up(paused: Bool = false) async throws -> UpReport {
        let lock = try await lock()
        defer { withExtendedLifetime(lock) {} }
        var recovered = false
        switch probe() {
        case .alive(let pid): throw UpError.alreadyRunning(name: spec.name.rawValue, pid: pid)
        case .crashed, .exited:
            logger.notice("cleaning stale runtime files of \(spec.name)")
            stopLeftoverTPMEmulator()
            cleanRuntimeDirectory()
            recovered = true
        case .clean: break
        }
        if let pid = await libvirtQEMU(spec.name.rawValue) {
            throw StartRefusal.runsOnOtherBackend(name: spec.name.rawValue, place: "on the libvirt backend (its QEMU has pid \(pid))")
        }
        // A GPU left on vfio-pci by a crashed run or an interrupted swap goes back to the host
        // first, and what such a run changed on the host (huge pages, CPU isolation) is undone.
        try await returnGPUsLeftBehind()
        // One scan of the processes serves both: removing a crashed run's Looking Glass file and
        // making this run's.
        let sharedMemoryScan = scanSharedMemory()
        try undoHostChanges(scan: sharedMemoryScan)
        if spec.accelerator == .kvm, let reason = KVMProbe.problem() {
            throw StartRefusal.kvmMissing(reason: reason)
        }
        // QEMU's own message for these ("kernel doesn't allow setting HyperV VP_INDEX") names no fix.
        if spec.accelerator == .kvm, spec.windows.hyperV, case let missing = KVMProbe.missingHyperV(), !missing.isEmpty {
            throw StartRefusal.hyperVUnsupported(missing)
        }
        // The host's display GPU is still the host's: it is checked once released, just before launch.
        var kept = spec
        kept.gpus.removeAll { $0.hostRelease != nil }
        // So are the USB controllers passed whole: vm up moves them to vfio-pci itself.
        kept.usbHostControllers = []
        let problems = passthroughProblems(kept)
        guard problems.isEmpty else { throw StartRefusal.passthroughNotReady(problems) }
        try checkNetworkCanAttach()
        try checkSoundServer()
        if spec.cpu.pin == .auto { throw PinningError.noLayout(autoPinProblem) }
        let tpmEmulator = spec.tpm.enabled ? try TPMEmulator.locate() : nil
        let supervisor = try supervisorInvocation()

        try PrivateDirectory.make(paths.runtimeDirectory)
        try prepareFirmwareVars()
        // macvtap: create the link and open its /dev/tapN now; QEMU starts paused and its
        // supervisor hands it the descriptor over QMP (see MacvtapNIC), then starts the vCPUs.
        let tap = try openMacvtap()
        defer { if let tap { close(tap) } }
        let extras = FileManager.default.fileExists(atPath: paths.extrasISO) ? paths.extrasISO : nil
        // QEMU starts paused when something must be done before the vCPUs run (the tap
        // hand-over, pinning), and continues afterwards unless asked to stay paused.
        let setUpBeforeRunning = tap != nil || spec.cpu.pin != nil
        // With pinning, `vm up` starts the vCPUs itself once the threads are pinned.
        let vCPUsStartHere = spec.cpu.pin != nil && !paused
        let options = LaunchOptions(paused: paused || setUpBeforeRunning, extrasISO: extras)
        let arguments = try QEMUCommandLine.arguments(for: spec, paths: paths, options: options)
        logger.debug("launching \(launcher.executable) \(arguments.joined(separator: " "))")
        // QEMU's output goes to a log of this run only: no old message is mistaken for this run's.
        try? FileManager.default.removeItem(atPath: paths.qemuLog)
        // From here on a failure undoes the host changes: the display GPU, USB controllers, huge
        // pages, shared memory.
        if releasesAtStart { try await releaseHostDisplay(force: releaseForce) }
        do {
            try await takeUSBControllers()
            if releasesAtStart || !spec.usbHostControllers.isEmpty {
                let released = passthroughProblems(spec)
                guard released.isEmpty else { throw StartRefusal.passthroughNotReady(released) }
            }
            try reserveHugePages()
            try createSharedMemory(scan: sharedMemoryScan)
        } catch {
            removeMacvtap()
            undoHostChangesLogged()
            throw error
        }
        let session: MonitorSession
        let firstStatus: QMPStatus
        let pid: Int32
        // Before QEMU, whose TPM backend connects to it at start; from then on the supervisor
        // stops it (and it ends by itself when QEMU goes).
        let swtpmPID: Int32?
        do {
            swtpmPID = try tpmEmulator?.start(paths: paths)
        } catch {
            cleanRuntimeDirectory()
            removeMacvtap()
            undoHostChangesLogged()
            throw error
        }
        do {
            // The supervisor starts the vCPUs after the tap hand-over only when nothing is left
            // to do here first (pinning, isolation).
            let qemu = try launcher.start(arguments: arguments, logFile: paths.qemuLog, supervisor: supervisor,
                                          tapDescriptor: tap, resume: !paused && !vCPUsStartHere, swtpmPID: swtpmPID)
            (session, firstStatus) = try await negotiateMonitor(of: qemu)
            pid = qemu.pid
        } catch {
            // A swtpm no QEMU connected to would wait forever.
            if let swtpmPID { processes.send(SIGKILL, to: swtpmPID) }
            guard let error = error as? LaunchError else { throw error }
            cleanRuntimeDirectory()
            removeMacvtap()
            undoHostChangesLogged()
            if spec.accelerator == .kvm, case .ended(let log) = error, log.lowercased().contains("kvm") {
                throw StartRefusal.kvmBroken(detail: log.split(separator: "\n").first.map(String.init) ?? "QEMU aborted")
            }
            throw UpError.launchFailed(error)
        }
        defer { session.client.close() }
        var pinned: [PinnedThread]?
        do {
            // Isolation first: moving QEMU into its cgroup resets its threads' affinities to the
            // cgroup's CPUs, which would undo the pins.
            try isolateCPUs(pid: pid)
            pinned = try await pinThreads(client: session.client, pid: pid)
            if vCPUsStartHere { try await session.client.cont() }
        } catch {
            await abandonStart(pid: pid)
            throw error
        }
        do {
            let client = session.client
            // The status QEMU first answered is the one to report unless the vCPUs started since.
            let status = vCPUsStartHere ? try await client.queryStatus() : firstStatus
            if spec.accelerator == .kvm {
                let kvm = try await client.queryKVM()
                if !kvm.enabled || status.status == "internal-error" {
                    await forceStop(pid: pid)
                    throw StartRefusal.kvmBroken(detail: kvm.enabled ? "the guest stopped with an internal error" : "QEMU could not enable KVM")
                }
            }
            return UpReport(name: spec.name.rawValue, pid: pid, qemuStatus: status.status, qemuVersion: client.version.description,
                            qmpSocket: qmpSocket, recoveredStaleState: recovered, pinned: pinned?.map(\.summary))
        } catch let error as QMPError {
            await forceStop(pid: pid)
            throw UpError.monitorUnreachable(error)
        }
    }

    /// A negotiated QMP session and the connection under it (the macvtap hand-over sends a
    /// descriptor along it).
    struct MonitorSession: Sendable {
        let transport: UnixSocketTransport
        let client: QMPClient
    }

    /// How long `vm up` waits for the monitor of a QEMU that runs: QEMU answers once the machine
    /// is initialised, which a large guest's memory preallocation stretches to minutes.
    static let monitorWait = Duration.seconds(3600)

    /// Connects to the VM's QMP socket, which its supervisor serves from QEMU's greeting on,
    /// negotiates QMP and asks QEMU's status, which the supervisor relays once QEMU's monitor
    /// answers; or reports how QEMU ended when it ends first (its log says why). A monitor that
    /// fails, or a supervisor that ends, while QEMU runs on ends QEMU: `vm up` cannot leave a VM
    /// it cannot control.
    private func negotiateMonitor(of qemu: BackgroundQEMU) async throws -> (MonitorSession, QMPStatus) {
        let path = qmpSocket
        let logger = logger
        let first = await Race.first({ () async -> MonitorRace in
            do {
                let transport = try await UnixSocketTransport.connect(path: path, timeout: Self.monitorWait, awaitListener: true)
                let client = try await QMPClient.connect(transport: transport, timeout: Self.monitorWait, logger: logger)
                do {
                    return .answered(MonitorSession(transport: transport, client: client),
                                     try await client.queryStatus(timeout: Self.monitorWait))
                } catch {
                    client.close()
                    throw error
                }
            } catch let error as TransportError {
                return .failed(QMPError(connecting: path, error))
            } catch {
                return .failed(error as? QMPError ?? .closed)
            }
        }, { () async -> MonitorRace in await qemu.awaitEnd(orSupervisor: true) ? .ended : .cancelled },
        cancelled: .cancelled, discard: { late in if case .answered(let session, _) = late { session.client.close() } })
        switch first {
        case .answered(let session, let status):
            // `vm status` and `vm down` find QEMU through its pidfile.
            guard QEMUPidFile.pid(at: paths.pidFile) == qemu.pid else {
                session.client.close()
                await abandonStart(pid: qemu.pid)
                throw UpError.pidfileMismatch(path: paths.pidFile, pid: qemu.pid)
            }
            return (session, status)
        case .ended: break
        case .failed(let error):
            // A QEMU that fails while initialising closes its monitor as it exits, and so does a
            // supervisor that fails: a failed monitor is their failure when one of them then ends
            // (on a loaded machine that takes a while).
            guard await qemu.awaitEnd(within: .seconds(5), orSupervisor: true) else {
                await abandonStart(pid: qemu.pid)
                throw UpError.monitorUnreachable(error)
            }
        case .cancelled:
            await abandonStart(pid: qemu.pid)
            throw CancellationError()
        }
        if qemu.hasEnded { throw LaunchError.ended(log: qemuLogText) }
        await abandonStart(pid: qemu.pid)
        throw UpError.supervisorFailed(log: supervisorLogText)
    }

    /// What QEMU wrote to its log in this run.
    private var qemuLogText: String {
        (try? String(contentsOfFile: paths.qemuLog, encoding: .utf8)) ?? ""
    }

    /// The end of the supervisors' log (it spans runs).
    private var supervisorLogText: String {
        let text = (try? String(contentsOfFile: paths.supervisorLog, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(20).joined(separator: "\n")
    }

    /// Which came first while QEMU started: its monitor's answer (with QEMU's status) or its end.
    private enum MonitorRace: Sendable {
        case answered(MonitorSession, QMPStatus)
        case failed(QMPError)
        case ended
        case cancelled
    }

    /// The macvtap link of this VM.
    var macvtapLink: MacvtapLink { MacvtapLink(vm: spec.name, runner: hostCommands) }

    /// In macvtap mode: creates the link on the parent NIC and opens its tap device.
    func openMacvtap() throws -> Int32? {
        guard spec.network.mode == .macvtap else { return nil }
        guard let parent = spec.network.parent else { throw UpError.networkSetupFailed("no parent NIC under [network]") }
        do {
            let index = try macvtapLink.create(parent: parent, mac: spec.network.mac)
            do {
                return try MacvtapLink.openTap(ifindex: index)
            } catch {
                try? macvtapLink.remove()
                throw error
            }
        } catch {
            throw UpError.networkSetupFailed("\(error)")
        }
    }

    /// In macvtap mode: removes the link when it is there; returns what went wrong, if anything.
    @discardableResult
    func removeMacvtap() -> String? {
        guard spec.network.mode == .macvtap, macvtapLink.exists else { return nil }
        do {
            try macvtapLink.remove()
            return nil
        } catch {
            logger.warning("could not remove macvtap link \(macvtapLink.name): \(error)")
            return "macvtap link \(macvtapLink.name) not removed: \(error)"
        }
    }

    /// Copies the OVMF vars template once per VM; the copy keeps the guest's boot entries.
    func prepareFirmwareVars() throws {
        guard spec.firmware.kind == .ovmf, let template = spec.firmware.varsTemplate,
              !FileManager.default.fileExists(atPath: paths.varsFile) else { return }
        try FileManager.default.copyItem(atPath: template, toPath: paths.varsFile)
        chmod(paths.varsFile, 0o600)
    }

    /// Undoes a failed `up` once QEMU runs: ends QEMU, removes the macvtap link and undoes the
    /// host changes (huge pages, CPU isolation, the display GPU).
    func abandonStart(pid: Int32) async {
        await forceStop(pid: pid)
        removeMacvtap()
        undoHostChangesLogged()
    }

    /// Ends QEMU without asking the guest (cleanup after a failed `up`).
    func forceStop(pid: Int32) async {
        processes.send(SIGKILL, to: pid)
        _ = await waitForExit(pid: pid, timeout: .seconds(5))
        cleanRuntimeDirectory()
    }

    // MARK: - down

    /// Stops the VM: ACPI power button and up to `timeout` for the guest to power off, then
    /// `quit`, then SIGTERM, then SIGKILL. `force` starts at `quit`. A hot-plugged GPU goes back
    /// to its host drivers afterwards unless `keepGPUOnVFIO`.
    ///
    /// The VM's supervisor does the escalation (``VMSupervisor/Command/down``) and the teardown,
    /// then disconnects; the outcome is what the run record says ended QEMU. Other clients of
    /// the QMP socket do not stand in the way. When the supervisor dies on the way, a new one
    /// adopts QEMU and is asked again.
    public func down(timeout: Duration, force: Bool, keepGPUOnVFIO: Bool) async throws -> DownOutcome {
        for _ in 0..<2 {
            guard case .alive(let pid) = probe() else { return try await cleanUpStopped(keepGPUOnVFIO: keepGPUOnVFIO) }
            let client = try await supervisorClient(pid: pid, replacingUnresponsive: force)
            defer { client.close() }
            // Subscribed to nothing: the stream finishes when the supervisor disconnects, after its teardown.
            let disconnected = client.events(matching: .named(Set<String>()))
            _ = try await client.execute(VMSupervisor.Command.down, arguments: Self.downArguments(timeout: timeout, force: force, keepGPUOnVFIO: keepGPUOnVFIO))
            for await _ in disconnected {}
            if let record = runRecord(), record.qemuPID == pid, let end = record.end {
                // The supervisor undid the run's host changes made under its host root; what is
                // left (made under this process's root, e.g. a test's fake host) is undone here.
                try undoHostChanges(keepingGPUOnVFIO: keepGPUOnVFIO)
                return Self.outcome(of: end)
            }
            // The supervisor went away before QEMU ended: adopt and ask again.
        }
        throw UpError.supervisorFailed(log: supervisorLogText)
    }

    /// Hands ``down(timeout:force:keepGPUOnVFIO:)`` to the supervisor and returns once it took it.
    public func requestDown(timeout: Duration, force: Bool, keepGPUOnVFIO: Bool) async throws -> Bool {
        guard case .alive(let pid) = probe() else {
            _ = try await cleanUpStopped(keepGPUOnVFIO: keepGPUOnVFIO)
            return false
        }
        let client = try await supervisorClient(pid: pid)
        defer { client.close() }
        _ = try await client.execute(VMSupervisor.Command.down, arguments: Self.downArguments(timeout: timeout, force: force, keepGPUOnVFIO: keepGPUOnVFIO))
        return true
    }

    /// The arguments of the supervisor's `x-vm-down`.
    static func downArguments(timeout: Duration, force: Bool, keepGPUOnVFIO: Bool) -> [String: JSONValue] {
        let (seconds, attoseconds) = timeout.components
        return ["timeout": .double(Double(seconds) + Double(attoseconds) / 1e18), "force": .bool(force), "keep_gpu_on_vfio": .bool(keepGPUOnVFIO)]
    }

    /// No QEMU runs: removes what a run nobody watched to its end left behind.
    private func cleanUpStopped(keepGPUOnVFIO: Bool) async throws -> DownOutcome {
        let lock = try await lock()
        defer { withExtendedLifetime(lock) {} }
        cleanRuntimeDirectory()
        removeMacvtap()
        // The swap first: a display GPU in a guest goes back through its swap journal, then
        // the host gets it (and its desktop) back from the release journal.
        if !keepGPUOnVFIO { try await returnGPUsLeftBehind() }
        try undoHostChanges(keepingGPUOnVFIO: keepGPUOnVFIO)
        return .notRunning
    }

    /// `vm down`'s outcome for a recorded end.
    static func outcome(of end: RunRecord.End) -> DownOutcome {
        switch end.cause {
        case .guestPoweredOff, .guestPanicked: return .poweredOff
        case .quit: return .quit
        case .hostSignal: return .terminated
        case .killed: return end.signal == SIGKILL ? .killed : .terminated
        case .exited, .unknown, .tpmEmulatorEnded:
            switch end.requestedBy {
            case .downQuit: return .quit
            case .downTerminate: return .terminated
            case .downKill: return .killed
            case .downPowerButton, nil: return .poweredOff
            }
        }
    }

    /// Polls until `pid` is gone; false on timeout.
    func waitForExit(pid: Int32, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while processes.isAlive(pid) {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    // MARK: - The supervisor

    /// A QMP connection to the VM through its supervisor. When QEMU (`pid`) runs but its
    /// supervisor is gone (killed, out of memory), starts a supervisor that adopts QEMU first.
    /// A supervisor that takes the connection but does not greet and negotiate within `timeout`
    /// (stopped, stuck) is ``UnresponsiveSupervisor``; with `replacingUnresponsive` it is killed and
    /// replaced by one that adopts QEMU instead.
    func supervisorClient(pid: Int32, timeout: Duration = .seconds(5), replacingUnresponsive: Bool = false) async throws -> QMPClient {
        var deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let failure: QMPError
            do {
                return try await QMPClient.connect(path: qmpSocket, timeout: timeout, logger: logger)
            } catch {
                failure = error
            }
            switch failure {
            case .connectFailed(_, reason: .noSocket), .connectFailed(_, reason: .refused):
                return try await adoptingSupervisorClient(pid: pid, timeout: timeout)
            case .greetingFailed(let why) where !recordedSupervisorIsAlive && ContinuousClock.now < deadline:
                // A supervisor killed a moment ago: its process already shows as ended while its
                // last threads still hold the listening socket, which queues a connection and
                // then drops it. Once they are gone the socket refuses, and an adopter starts.
                logger.debug("the supervisor of \(spec.name) is ending (\(why)); connecting again")
                try await Task.sleep(for: .milliseconds(10))
            case .greetingFailed where ContinuousClock.now >= deadline, .negotiationFailed where ContinuousClock.now >= deadline:
                // The whole wait went by without a greeting or an answer to `qmp_capabilities`
                // (not a connection closed at once).
                guard let supervisor = runRecord()?.supervisorPID, processes.isAlive(supervisor) else { throw failure }
                guard replacingUnresponsive else { throw UnresponsiveSupervisor(vm: spec.name.rawValue, pid: supervisor, waited: timeout) }
                logger.notice("the supervisor of \(spec.name) (pid \(supervisor)) does not answer; ending it")
                processes.send(SIGKILL, to: supervisor)
                guard await waitForExit(pid: supervisor, timeout: .seconds(10)) else { throw failure }
                // Connect again as after any killed supervisor: refused once its socket is
                // closed, and then an adopter starts.
                deadline = ContinuousClock.now.advanced(by: timeout)
            default:
                throw failure
            }
        }
    }

    /// Whether the supervisor the run record names still runs (false without a record).
    private var recordedSupervisorIsAlive: Bool {
        runRecord().map { processes.isAlive($0.supervisorPID) } ?? false
    }

    /// Starts a supervisor that adopts QEMU (`pid`) and connects to it once it listens.
    private func adoptingSupervisorClient(pid: Int32, timeout: Duration) async throws -> QMPClient {
        logger.notice("the supervisor of \(spec.name) is gone; starting one that adopts QEMU (pid \(pid))")
        _ = try QEMULauncher.adopt(qemuPID: pid, supervisor: try supervisorInvocation())
        let transport: UnixSocketTransport
        do {
            transport = try await UnixSocketTransport.connect(path: qmpSocket, timeout: .seconds(30), awaitListener: true)
        } catch {
            throw QMPError(connecting: qmpSocket, error)
        }
        return try await QMPClient.connect(transport: transport, timeout: timeout, logger: logger)
    }

    // MARK: - status

    /// The VM's state: from QMP through the supervisor when QEMU runs, else from the run record,
    /// the pidfile and the process table.
    public func status() async -> VMStatusReport {
        var report = VMStatusReport(name: spec.name.rawValue, state: .stopped)
        report.tpm = tpmSummary()
        switch probe() {
        case .clean, .exited:
            report.note = stoppedNote()
            return report
        case .crashed(let pid):
            report.state = .crashed
            report.pid = pid
            report.note = (stoppedNote().map { $0 + "; " } ?? "") + "QEMU died without shutting down; `vm up` cleans up and starts again"
            return report
        case .alive(let pid):
            report.pid = pid
            report.qmpSocket = qmpSocket
            report.state = .running
            report.uptimeSeconds = QEMUPidFile.uptimeSeconds(paths.pidFile)
            do {
                let client = try await supervisorClient(pid: pid, timeout: .seconds(5))
                defer { client.close() }
                let status = try await client.queryStatus()
                report.qemuStatus = status.status
                report.state = VMState(qmpStatus: status.status)
                let passthroughIDs = Set(spec.gpus.indices.flatMap { index in
                    spec.gpus[index].functions.map { gpuFunctionID(gpu: index, function: $0) }
                })
                // A VM without GPUs has none in the guest: no round trip for that.
                report.passthroughInGuest = passthroughIDs.isEmpty
                    ? [] : try await client.peripheralIDs().filter(passthroughIDs.contains).sorted()
                if spec.cpu.pin != nil { report.pinning = try await QEMUThreadPinner().applied(client: client, pid: pid).map(\.summary) }
            } catch {
                report.note = "QMP did not answer (\(error)); state from the process table"
            }
            return report
        }
    }

    /// Ends the swtpm of a run nobody saw to its end (QEMU and its supervisor killed): it holds
    /// the TPM state's lock, which the next swtpm needs. Only a swtpm on this VM's state.
    func stopLeftoverTPMEmulator() {
        guard let pid = runRecord()?.swtpmPID,
              processes.commandLine(of: pid)?.contains(where: { $0.contains("dir=\(paths.tpmStateDirectory),") }) == true
        else { return }
        logger.notice("stopping the TPM emulator (pid \(pid)) a crashed run of \(spec.name) left")
        processes.send(SIGKILL, to: pid)
    }

    /// `vm status`'s TPM line: the emulator (with its pid while the VM runs) and its state folder;
    /// nil without `[tpm] enabled`.
    func tpmSummary() -> String? {
        guard spec.tpm.enabled else { return nil }
        let running = isRunning ? runRecord().flatMap(\.swtpmPID).map { " pid \($0)" } ?? "" : ""
        return "TPM 2.0 (tpm-crb, swtpm\(running)), state in \(paths.tpmStateDirectory)"
    }

    /// Why the VM stopped, from the run record.
    func stoppedNote() -> String? {
        guard let record = runRecord() else { return nil }
        return record.end?.summary ?? "QEMU (pid \(record.qemuPID)) ended while no supervisor watched it"
    }
}

extension QEMUMachine {
    /// The QEMU backend for `loaded` (a definition already resolved on this host) as `vm` and the
    /// VM's supervisor drive it: QEMU from `VM_QEMU` or `PATH`, the host under `VM_HOST_ROOT`, and
    /// the boot passthrough check (``BootPassthroughCheck``) on that host.
    public static func onThisHost(_ loaded: LoadedDefinition, logger: Logger) throws(LaunchError) -> QEMUMachine {
        let host = RootedFileSystem(root: .fromEnvironment())
        let check = BootPassthroughCheck(fileSystem: host)
        return QEMUMachine(spec: loaded.spec, paths: loaded.paths, launcher: try QEMULauncher.locate(), hostFileSystem: host,
                           logger: logger, definitionFile: loaded.file, passthroughProblems: { check.problems(for: $0) })
    }
}

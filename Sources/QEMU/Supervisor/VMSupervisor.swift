import FoundationEssentials
import Glibc
import Logging
import Network
import QMP
import Synchronization
import VMCore

/// The process that owns a QEMU-backend VM from `vm up` until QEMU exits (the `vm-supervisor`
/// executable; see the README's "The supervisor").
///
/// - **Start.** `vm up` starts it together with QEMU (``QEMULauncher``): it is QEMU's parent, so
///   `waitpid` tells it how QEMU ended. It holds `supervisor.lock` (`flock`) in the runtime folder
///   for as long as it runs: a second supervisor of the same VM gives way at once.
/// - **The monitor.** It is the one client of QEMU's own monitor (`monitor.sock`) and serves the
///   VM's public `qmp.sock` to any number of clients (``QMPServer``): commands forwarded to QEMU
///   under ids of its own, replies routed back, every event to every client. Both sockets are
///   0600 in the 0700 runtime folder, and a client must be root or the supervisor's user
///   (`SO_PEERCRED`). One command is its own: `x-vm-down` (the power button, then `quit`,
///   SIGTERM and SIGKILL, each only when the step before did not end QEMU in time). Clients are
///   greeted from QEMU's own greeting on, early in QEMU's start; their commands wait at a
///   ``WaitGate`` until `qmp_capabilities` is on its way to QEMU and the start-up (the macvtap
///   hand-over, which needs QEMU's answers) is done, then go to QEMU queued behind it.
/// - **The record.** ``RunRecord`` in the state folder: the start, the events that matter, and
///   the end (how, and which `vm down` step was under way).
/// - **The TPM emulator.** When the VM has one (``TPMEmulator``), it watches swtpm through a
///   pidfd: a swtpm that dies while QEMU runs is recorded (`TPM_EMULATOR_ENDED`) and ends QEMU
///   (`quit`), since a guest whose TPM vanished fails in ways nobody sees; after QEMU's end it
///   stops a swtpm that did not end by itself.
/// - **The end.** Whoever ends QEMU, it gives hot-plugged GPUs back to their host drivers
///   (the swap journal), removes the macvtap link and the runtime folder, records the end, then
///   disconnects its clients and exits. It blocks on `waitpid`/pidfd and sockets; it never polls.
/// - **Adoption.** When a supervisor dies, QEMU runs on. The next `vm` command that finds QEMU
///   alive and `qmp.sock` unanswered starts a new supervisor with ``Role/adopting``: it connects
///   to QEMU's monitor again (QEMU accepts a new client once the old one is gone), keeps the
///   record, and watches QEMU through a pidfd (it is not QEMU's parent: the exit status is lost).
public final class VMSupervisor: Sendable {
    /// How this supervisor came to watch QEMU.
    public enum Role: Sendable, Equatable {
        /// Started with QEMU by `vm up`; `tapDescriptor` is the macvtap device to hand to QEMU
        /// (which then waits paused), `resume` whether to start the vCPUs after that, `swtpmPID`
        /// the VM's TPM emulator.
        case starting(tapDescriptor: Int32?, resume: Bool, swtpmPID: Int32?)
        /// Took over a running QEMU whose supervisor went away.
        case adopting
    }

    /// The commands the supervisor answers itself.
    public enum Command {
        /// `{"execute": "x-vm-down", "arguments": {"timeout": SECONDS, "force": BOOL}}`.
        public static let down = "x-vm-down"
    }

    /// How long `quit` and SIGTERM each get before the next step.
    static let escalationStep = Duration.seconds(5)

    /// Events kept in the record.
    static let recordedEvents: Set<String> = ["SHUTDOWN", "POWERDOWN", "GUEST_PANICKED", "RESET", "DEVICE_DELETED"]

    private let machine: QEMUMachine
    private let qemuPID: Int32
    private let role: Role
    private let fingerprint: String
    private let logger: Logger
    private let exit: Task<QEMUExit, Never>
    /// The TPM emulator and its end, when the VM has one.
    private let swtpm: (pid: Int32, exit: Task<QEMUExit, Never>)?
    private let records: RunRecordStore
    private let state = Mutex(State())

    private struct State {
        var record: RunRecord?
        var downStep: RunRecord.Requester?
        var downStarted = false
        /// `vm down --keep-gpu-on-vfio`: the teardown leaves hot-plugged GPUs on vfio-pci.
        var keepGPUOnVFIO = false
        var shutdownReason: String?
        var ended = false
        /// QEMU's monitor has answered (its main loop runs): there is a guest and a monitor for `vm down`.
        var monitorAnswered = false
        /// The TPM emulator ended while QEMU ran.
        var tpmEmulatorEnded = false
    }

    private init(machine: QEMUMachine, qemuPID: Int32, role: Role, fingerprint: String) {
        self.machine = machine
        self.qemuPID = qemuPID
        self.role = role
        self.fingerprint = fingerprint
        logger = machine.logger
        records = RunRecordStore(path: machine.paths.runRecord, vm: machine.spec.name.rawValue)
        exit = QEMUExitWatch.start(pid: qemuPID, isChild: role != .adopting)
        let swtpmPID: Int32?
        switch role {
        case .starting(_, _, let pid): swtpmPID = pid
        case .adopting:
            let previous = records.read().record
            swtpmPID = previous?.qemuPID == qemuPID ? previous?.swtpmPID : nil
        }
        swtpm = swtpmPID.map { ($0, QEMUExitWatch.start(pid: $0, isChild: false)) }
    }

    /// Runs the supervisor of `machine`'s QEMU (`qemuPID`) until QEMU has ended and everything is
    /// torn down; returns the process's exit status. `serving` runs once, when the VM's QMP socket
    /// takes clients (start-up is over).
    public static func run(machine: QEMUMachine, qemuPID: Int32, role: Role, fingerprint: String,
                           serving: @Sendable () -> Void = {}) async -> Int32 {
        let lock = open(machine.paths.supervisorLock, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0, flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            machine.logger.notice("another supervisor watches \(machine.spec.name); this one gives way")
            return 0
        }
        defer { close(lock) }
        return await VMSupervisor(machine: machine, qemuPID: qemuPID, role: role, fingerprint: fingerprint).run(serving: serving)
    }

    private func run(serving: @Sendable () -> Void) async -> Int32 {
        // The record first, while QEMU is still starting: its writes (and their fsyncs) are then
        // not between QEMU's first answer and the VM's socket taking clients.
        startRecord()
        // The VM's socket listens from now on: a client that comes while QEMU still starts (`vm
        // up` itself) waits in the backlog for its greeting instead of polling for the socket.
        let listener: UnixSocketListener
        do {
            listener = try UnixSocketListener(path: machine.qmpSocket)
        } catch {
            logger.error("cannot serve \(machine.qmpSocket): \(error); QEMU runs on, the next vm command starts a new supervisor")
            return 1
        }
        // Clients are greeted as soon as QEMU greets (it does so early in its start) and may
        // negotiate; their commands wait at the gate until `qmp_capabilities` is on its way to
        // QEMU and the start-up below (the macvtap hand-over) is done. From then on they go to
        // QEMU at once, queued behind the negotiation: `vm up`'s first command is already in
        // QEMU's socket when QEMU answers `qmp_capabilities`, and is answered right after it.
        let gate = WaitGate<QMPClient>()
        let startedServer = Mutex<QMPServer?>(nil)
        let startServing = { @Sendable [self] (version: QMPVersion) -> QMPServer in
            let server = QMPServer(greeting: Self.greeting(version)) { [self] command, arguments in
                // `vm down` is taken at once, also from a QEMU that is still starting (a large
                // guest's memory can take minutes): the steps that need the monitor wait for it.
                if command == Command.down { return takeDown(arguments, monitor: gate) }
                guard let client = await gate.value() else {
                    return .failure(.init(errorClass: "GenericError", description: "QEMU ended before its monitor answered"))
                }
                return await handle(command, arguments, client: client)
            }
            server.serve(listener, allowedUID: getuid())
            startedServer.withLock { $0 = server }
            return server
        }
        // Without a monitor (QEMU ended, or its monitor failed): the end, once QEMU is gone.
        let giveUp = { [self] (server: QMPServer?) async -> Int32 in
            await finish(await exit.value)
            gate.close()
            server?.closeAll()
            return 1
        }
        let monitor: QEMUMachine.MonitorSession
        let negotiation: Task<Result<Void, QMPError>, Never>
        switch await connectMonitor(greeted: { _ = startServing($0.version) }) {
        case .some(let connected): (monitor, negotiation) = connected
        case .none: return await giveUp(startedServer.withLock { $0 })
        }
        let server = startedServer.withLock { $0 } ?? startServing(monitor.client.version)
        defer { monitor.client.close() }
        // Every event to the record and the clients, from before the first client's command
        // reaches QEMU (a `cont` queued during the start gets its RESUME relayed).
        let events = monitor.client.events()
        let relay = Task { [self] in
            for await event in events {
                note(event)
                server.broadcast(event)
            }
        }
        let tapHandOver: (descriptor: Int32, resume: Bool)? = if case .starting(let tap?, let resume, _) = role { (tap, resume) } else { nil }
        if tapHandOver == nil { gate.open(monitor.client) }
        // QEMU's answer to `qmp_capabilities`, or nil when QEMU ended first.
        let answer = await firstOf({ Optional(await negotiation.value) }, orQEMUEnd: nil)
        guard case .success = answer else {
            if case .failure(let error) = answer { logger.error("QEMU's monitor \(machine.paths.monitorSocket): \(error)") }
            return await giveUp(server)
        }
        state.withLock { $0.monitorAnswered = true }
        if let tapHandOver {
            do {
                try await MacvtapNIC.attach(tapDescriptor: tapHandOver.descriptor, transport: monitor.transport, client: monitor.client,
                                            network: machine.spec.network)
                close(tapHandOver.descriptor)
                if tapHandOver.resume { _ = try await monitor.client.execute("cont") }
            } catch {
                // `vm up` sees the supervisor end and reports it; QEMU must not run on without its NIC.
                logger.error("handing the macvtap device to QEMU failed: \(error)")
                kill(qemuPID, SIGKILL)
                return await giveUp(server)
            }
            gate.open(monitor.client)
        }
        watchTPMEmulator(client: monitor.client)
        serving()
        let ended = await exit.value
        // QEMU's exit closes the monitor and so ends the relay: the events QEMU sent just before
        // it exited are in the record before the end is.
        await relay.value
        await finish(ended)
        server.closeAll()
        return 0
    }

    /// QEMU's greeting as the public socket repeats it.
    static func greeting(_ version: QMPVersion) -> JSONValue {
        ["QMP": ["version": ["qemu": ["major": .int(Int64(version.major)), "minor": .int(Int64(version.minor)),
                                      "micro": .int(Int64(version.micro))],
                             "package": .string(version.package)],
                 "capabilities": []]]
    }

    // MARK: - QEMU's monitor

    /// Connects to QEMU's own monitor and sends `qmp_capabilities`, or returns nil when QEMU
    /// ends first; `greeted` runs when QEMU greets. `negotiation` ends when QEMU answers, once its
    /// main loop runs.
    private func connectMonitor(greeted: @escaping @Sendable (QMPGreeting) -> Void) async
        -> (session: QEMUMachine.MonitorSession, negotiation: Task<Result<Void, QMPError>, Never>)? {
        let path = machine.paths.monitorSocket
        let logger = logger
        return await firstOf({
            do {
                let transport = try await UnixSocketTransport.connect(path: path, timeout: QEMUMachine.monitorWait, awaitListener: true)
                let (client, negotiation) = try await QMPClient.connectQueuing(
                    transport: transport, timeout: QEMUMachine.monitorWait, logger: logger, greeted: greeted)
                return (QEMUMachine.MonitorSession(transport: transport, client: client), negotiation)
            } catch {
                logger.error("QEMU's monitor \(path): \(error)")
                return nil
            }
        }, orQEMUEnd: nil)
    }

    /// The value of `body`, or `ended` when QEMU ends first. (Not a task group: a group waits
    /// for every child, and QEMU's end is not something to wait for here.)
    private func firstOf<Value: Sendable>(_ body: @escaping @Sendable () async -> Value, orQEMUEnd ended: Value) async -> Value {
        await Self.firstOf(body, orEndOf: exit, ended: ended)
    }

    /// The value of `body`, or `ended` when the process that `exit` watches ends first.
    private static func firstOf<Value: Sendable>(_ body: @escaping @Sendable () async -> Value, orEndOf exit: Task<QEMUExit, Never>,
                                                 ended: Value) async -> Value {
        await Race.first(body, {
            _ = await exit.value
            return ended
        }, cancelled: ended)
    }

    /// Takes `x-vm-down`: the escalation starts and the reply goes at once.
    private func takeDown(_ arguments: [String: JSONValue]?, monitor: WaitGate<QMPClient>) -> Result<JSONValue, QMPServer.Failure> {
        let seconds = arguments?["timeout"]?.doubleValue ?? 60
        if arguments?["keep_gpu_on_vfio"]?.boolValue == true { state.withLock { $0.keepGPUOnVFIO = true } }
        startDown(timeout: .milliseconds(Int64(max(0, seconds) * 1000)), force: arguments?["force"]?.boolValue ?? false, monitor: monitor)
        return .success(.object([:]))
    }

    /// Runs a client's command through QEMU's monitor.
    private func handle(_ command: String, _ arguments: [String: JSONValue]?, client: QMPClient) async -> Result<JSONValue, QMPServer.Failure> {
        do {
            // The client's own timeout governs; this one only bounds a monitor that never answers.
            let reply = try await client.execute(command, arguments: arguments, timeout: .seconds(24 * 3600))
            if command == "object-add", arguments?["qom-type"]?.stringValue == "iothread" { await pinNewThreads(client: client) }
            return .success(reply)
        } catch {
            switch error {
            case .commandFailed(_, let errorClass, let description): return .failure(.init(errorClass: errorClass, description: description))
            case .guestBusy(_, let description): return .failure(.init(errorClass: "GenericError", description: description))
            default: return .failure(.init(errorClass: "GenericError", description: "QEMU's monitor: \(error)"))
            }
        }
    }

    /// Pins the threads QEMU created after the start (an I/O thread added with `object-add`) as
    /// `[cpu.pin]` says; pinning again the threads that already are changes nothing.
    private func pinNewThreads(client: QMPClient) async {
        do {
            if let pinned = try await machine.pinThreads(client: client, pid: qemuPID) {
                logger.debug("pinned again after a new I/O thread: \(pinned.map(\.summary).joined(separator: "; "))")
            }
        } catch {
            logger.warning("could not pin the new I/O thread of \(machine.spec.name): \(error)")
        }
    }

    // MARK: - vm down

    /// The power button, then `quit`, SIGTERM and SIGKILL, each only when QEMU has not ended in
    /// time. A QEMU that still starts (its monitor has not answered yet) has no guest to press the
    /// power button of and takes no `quit`: SIGTERM comes first. (An adopter waits for the monitor
    /// of a QEMU that runs.) A second request while one runs changes nothing.
    private func startDown(timeout: Duration, force: Bool, monitor: WaitGate<QMPClient>) {
        let first = state.withLock { state in
            defer { state.downStarted = true }
            return !state.downStarted && !state.ended
        }
        guard first else { return }
        Task { [self] in
            let stillStarting = role != .adopting && !state.withLock { $0.monitorAnswered }
            if !stillStarting, let client = await monitor.value() {
                if !force {
                    step(.downPowerButton)
                    _ = try? await client.execute("system_powerdown")
                    if await ends(within: timeout) { return }
                }
                step(.downQuit)
                _ = try? await client.execute("quit")
                if await ends(within: Self.escalationStep) { return }
            }
            guard step(.downTerminate) else { return }
            kill(qemuPID, SIGTERM)
            if await ends(within: Self.escalationStep) { return }
            guard step(.downKill) else { return }
            kill(qemuPID, SIGKILL)
        }
    }

    /// Records the `vm down` step under way; false once QEMU has ended (its pid may be reused).
    @discardableResult
    private func step(_ requester: RunRecord.Requester) -> Bool {
        state.withLock { state in
            guard !state.ended else { return false }
            state.downStep = requester
            return true
        }
    }

    /// Whether QEMU ends within `limit`.
    private func ends(within limit: Duration) async -> Bool {
        await Self.ends(exit, within: limit)
    }

    /// Whether the process that `watch` watches ends within `limit`.
    private static func ends(_ watch: Task<QEMUExit, Never>, within limit: Duration) async -> Bool {
        await firstOf({
            try? await Task.sleep(for: limit)
            return false
        }, orEndOf: watch, ended: true)
    }

    // MARK: - The TPM emulator

    /// Ends QEMU (`quit`, then SIGKILL) when swtpm ends while QEMU runs, recording why.
    private func watchTPMEmulator(client: QMPClient) {
        guard let swtpm else { return }
        Task { [self] in
            _ = await swtpm.exit.value
            // QEMU's own end closes the control connection and so ends swtpm (`--terminate`):
            // only a swtpm that ends while QEMU runs on is a failure.
            if await ends(within: .seconds(1)) { return }
            let record = state.withLock { state -> RunRecord? in
                guard !state.ended else { return nil }
                state.tpmEmulatorEnded = true
                state.record?.append(.init(name: "TPM_EMULATOR_ENDED", at: Date(),
                                           detail: "swtpm (pid \(swtpm.pid)) ended while QEMU ran; QEMU is stopped"))
                return state.record
            }
            guard let record else { return }
            save(record)
            logger.error("the TPM emulator (swtpm, pid \(swtpm.pid)) ended; stopping QEMU (see \(machine.paths.tpmLog))")
            _ = try? await client.execute("quit")
            if await ends(within: Self.escalationStep) { return }
            guard !state.withLock({ $0.ended }) else { return }
            kill(qemuPID, SIGKILL)
        }
    }

    /// After QEMU's end: swtpm ends by itself once QEMU closed its control connection; one that
    /// does not is asked (SIGTERM) and then made (SIGKILL) to. It saves its state as it goes.
    private func stopTPMEmulator() async {
        guard let swtpm else { return }
        if await Self.ends(swtpm.exit, within: .seconds(2)) { return }
        kill(swtpm.pid, SIGTERM)
        if await Self.ends(swtpm.exit, within: Self.escalationStep) { return }
        logger.warning("swtpm (pid \(swtpm.pid)) ignored SIGTERM; killing it")
        kill(swtpm.pid, SIGKILL)
    }

    // MARK: - The record

    private func startRecord() {
        let now = Date()
        var record: RunRecord
        if role == .adopting, let previous = records.read().record, previous.qemuPID == qemuPID, previous.end == nil {
            record = previous
            record.supervisorPID = getpid()
            record.append(.init(name: "SUPERVISOR_ADOPTED", at: now, detail: "a new supervisor (pid \(getpid())) took over the running QEMU"))
        } else {
            record = RunRecord(vm: machine.spec.name.rawValue, backend: "qemu", qemuPID: qemuPID, supervisorPID: getpid(),
                               swtpmPID: swtpm?.pid, startedAt: now, fingerprint: fingerprint)
            if role == .adopting {
                record.append(.init(name: "SUPERVISOR_ADOPTED", at: now, detail: "no record of this QEMU's start was found"))
            }
        }
        state.withLock { $0.record = record }
        save(record)
    }

    /// Keeps `event` when it matters.
    private func note(_ event: QMPEvent) {
        guard Self.recordedEvents.contains(event.name) else { return }
        let at = event.timestamp >= 0 ? Date(timeIntervalSince1970: event.timestamp) : Date()
        let record = state.withLock { state -> RunRecord? in
            if event.name == "SHUTDOWN" { state.shutdownReason = event.data["reason"]?.stringValue }
            state.record?.append(.init(name: event.name, at: at, detail: event.data == .null ? nil : JSONWriter.string(event.data, sortedKeys: true)))
            return state.record
        }
        if let record { save(record) }
    }

    private func save(_ record: RunRecord) {
        do {
            try records.write(record)
        } catch {
            logger.error("cannot write the run record: \(error)")
        }
    }

    /// Why QEMU ended: its exit status (when known), the SHUTDOWN reason it gave, and whether
    /// the supervisor ended it because its TPM emulator had ended.
    static func cause(of exit: QEMUExit, shutdownReason: String?, tpmEmulatorEnded: Bool = false) -> RunRecord.Cause {
        if tpmEmulatorEnded { return .tpmEmulatorEnded }
        if exit.signal != nil { return .killed }
        switch shutdownReason {
        case "guest-shutdown": return .guestPoweredOff
        case "guest-panic": return .guestPanicked
        case "host-qmp-quit": return .quit
        case "host-signal": return .hostSignal
        default: return exit.exitStatus == nil ? .unknown : .exited
        }
    }

    // MARK: - Teardown

    /// After QEMU's end: GPUs back to the host, the macvtap link and the runtime folder removed,
    /// the end recorded.
    private func finish(_ exit: QEMUExit) async {
        let (downStep, reason, started, keepGPU, tpmEnded) = state.withLock { state in
            state.ended = true
            return (state.downStep, state.shutdownReason, state.record, state.keepGPUOnVFIO, state.tpmEmulatorEnded)
        }
        await stopTPMEmulator()
        var problems: [String] = []
        do {
            let lock = try await machine.lock()
            defer { withExtendedLifetime(lock) {} }
            if !keepGPU { try await machine.returnGPUsLeftBehind() }
        } catch {
            problems.append("GPU not given back: \(error); `vm gpu recover \(machine.spec.name)` retries")
        }
        if let problem = machine.removeMacvtap() { problems.append(problem) }
        do {
            try machine.undoHostChanges()
        } catch {
            problems.append("host changes not undone: \(error)")
        }
        machine.cleanRuntimeDirectory()
        let end = RunRecord.End(at: Date(), cause: Self.cause(of: exit, shutdownReason: reason, tpmEmulatorEnded: tpmEnded),
                                exitStatus: exit.exitStatus,
                                signal: exit.signal, requestedBy: downStep, teardownProblems: problems)
        var record = started ?? RunRecord(vm: machine.spec.name.rawValue, backend: "qemu", qemuPID: qemuPID, supervisorPID: getpid(),
                                          startedAt: Date(), fingerprint: fingerprint)
        record.end = end
        save(record)
        logger.notice("\(machine.spec.name): \(end.summary)")
    }
}

import Foundation
import Glibc
import GuestSupport
import HostLinux
import HostLinuxFakes
import QMP
import Synchronization
import Testing
import VMCore
@testable import QEMU

/// The per-VM supervisor against real QEMU (TCG) and the test-bed guest: every way a run ends,
/// many clients at once, and the supervisor's own death. Serialized: each test runs a TCG guest.
@Suite(.serialized)
struct SupervisorTests {
    /// A guest with a serial shell (so that it can power itself off) and, with `gpu`, a hot stand-in GPU.
    static func definition(_ bed: TestBed, gpu: Bool = false) -> String {
        bed.definition(extraCmdline: "vmtest.shell=1", extra: gpu ? """
            [[gpu]]
            address = "0000:00:10"
            device = "stand-in"
            plug = "hot"
            """ : "")
    }

    /// Types `line` on the guest's serial console (its shell), as a user at the console would.
    /// The console stays connected while the caller holds the result: QEMU drops what the guest
    /// has not read yet when the console's client goes.
    static func typeOnConsole(_ loaded: LoadedDefinition, _ line: String) async throws -> UnixSocketTransport {
        let transport = try await UnixSocketTransport.connect(path: loaded.paths.consoleSocket, timeout: .seconds(5))
        let bytes = Array((line + "\n").utf8)
        try bytes.withUnsafeBytes { try transport.write($0) }
        return transport
    }

    /// Waits until `stream` finishes (the supervisor disconnected); false after `limit`.
    static func finishes(_ stream: AsyncStream<QMPEvent>, within limit: Duration = .seconds(90)) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in stream {}
                return !Task.isCancelled
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// A QMP client of the VM's socket whose stream finishes when the supervisor disconnects,
    /// which it does last, after its teardown.
    static func watchSupervisorEnd(_ loaded: LoadedDefinition) async throws -> (QMPClient, AsyncStream<QMPEvent>) {
        let client = try await QMPClient.connect(path: loaded.paths.qmpSocket)
        return (client, client.events(matching: .named(Set<String>())))
    }

    @Test func guestPowerOffWithAHotGPUTearsDownWithNoVMCommandRunning() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("selfoff", Self.definition(bed, gpu: true))
        let machine = try scratch.machine(loaded)
        _ = try await machine.up()
        try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")
        _ = try await machine.attachGPU(0)
        #expect(try machine.swapper().journal.read()?.phase == .inGuest)

        let (watcher, disconnected) = try await Self.watchSupervisorEnd(loaded)
        defer { watcher.close() }
        let console = try await Self.typeOnConsole(loaded, "poweroff -f")
        defer { console.close() }
        #expect(await Self.finishes(disconnected), "the supervisor ends once the guest powered off")

        #expect(try machine.swapper().journal.read() == nil, "the journal is closed: the GPU is back on the host")
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.runtimeDirectory))
        #expect(Scratch.qemuProcesses(named: "selfoff").isEmpty)
        let record = try #require(machine.runRecord())
        #expect(record.end?.cause == .guestPoweredOff)
        #expect(record.end?.requestedBy == nil)
        #expect(record.end?.exitStatus == 0)
        #expect(record.events.map(\.name).contains("SHUTDOWN"))
        let status = await machine.status()
        #expect(status.state == .stopped)
        #expect(status.note?.hasPrefix("guest powered off at ") == true, "\(status.note ?? "no note")")
    }

    /// The fake host's second RTX 3090 Ti (``Scenarios/twoIdentical3090Ti()``), plugged while the VM runs.
    static let fakeHostGPU = """
        [[gpu]]
        address = "0000:05:00"
        plug = "hot"
        """

    @Test("the guest powers itself off, or QEMU is killed, while a GPU of the fake host is in it: the supervisor's teardown puts every function back on its original driver",
          .timeLimit(.minutes(3)), arguments: [false, true])
    func endOfTheRunGivesTheFakeHostItsGPUBack(killed: Bool) async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let kernel = FakeKernel(tree: try Scenarios.twoIdentical3090Ti())
        let loaded = try scratch.define(killed ? "gpukilled" : "gpuoff", bed.definition(extraCmdline: "vmtest.shell=1", extra: Self.fakeHostGPU))
        let vm = try await InProcessSupervisor.start(loaded, host: kernel)
        let functions = vm.machine.spec.gpus[0].functions
        let binder = DriverBinder(fileSystem: kernel)
        let originals = try vm.recordGPUInGuest(0)
        #expect(originals.map(\.originalDriver) == ["nvidia", "snd_hda_intel"])
        #expect(functions.map(binder.currentDriver) == ["vfio-pci", "vfio-pci"])

        var console: UnixSocketTransport?
        defer { console?.close() }
        if killed {
            kill(vm.qemuPID, SIGKILL)
        } else {
            try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")
            console = try await Self.typeOnConsole(loaded, "poweroff -f")
        }
        #expect(await vm.end() == 0)

        #expect(functions.map(binder.currentDriver) == ["nvidia", "snd_hda_intel"], "every function is back on its original driver")
        #expect(try vm.machine.swapper().journal.read() == nil, "the journal is closed")
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.runtimeDirectory))
        let end = try #require(vm.machine.runRecord()?.end)
        #expect(end.cause == (killed ? .killed : .guestPoweredOff) && end.teardownProblems.isEmpty, "\(end)")
    }

    @Test("vm down --no-wait: the supervisor takes the request and powers the guest off after the caller is gone")
    func downWithoutWaiting() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("nowait", Self.definition(bed))
        let machine = try scratch.machine(loaded)
        _ = try await machine.up()
        try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")
        let (watcher, disconnected) = try await Self.watchSupervisorEnd(loaded)
        defer { watcher.close() }
        // Paused, the guest cannot act on the power button: the VM is still there when
        // requestDown returns only if requestDown does not wait for the end.
        try await watcher.stop()
        #expect(try await machine.requestDown(timeout: .seconds(60), force: false, keepGPUOnVFIO: false))
        #expect(FileManager.default.fileExists(atPath: loaded.paths.runtimeDirectory), "requestDown returned before the end")
        try await watcher.cont()
        #expect(await Self.finishes(disconnected), "the supervisor ends once the guest powered off")
        let end = try #require(machine.runRecord()?.end)
        #expect(end.cause == .guestPoweredOff && end.requestedBy == .downPowerButton)
        #expect(try await machine.requestDown(timeout: .seconds(1), force: false, keepGPUOnVFIO: false) == false)
    }

    @Test func killedQEMUIsTornDownAndRecorded() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("killed", Self.definition(bed))
        let machine = try scratch.machine(loaded)
        let pid = try #require(try await machine.up().pid)
        let (watcher, disconnected) = try await Self.watchSupervisorEnd(loaded)
        defer { watcher.close() }
        kill(pid, SIGKILL)
        #expect(await Self.finishes(disconnected), "the supervisor ends once QEMU was killed")

        #expect(!FileManager.default.fileExists(atPath: loaded.paths.runtimeDirectory))
        let end = try #require(machine.runRecord()?.end)
        #expect(end.cause == .killed && end.signal == SIGKILL && end.requestedBy == nil)
        let status = await machine.status()
        #expect(status.state == .stopped)
        #expect(status.note?.hasPrefix("QEMU killed by signal 9 (not by vm down)") == true, "\(status.note ?? "no note")")
        #expect(try await machine.down(timeout: .seconds(1)) == .notRunning)
    }

    /// A definition whose QEMU stays long between its greeting and its first answer: it zeroes
    /// 2 GiB of guest memory while initialising the machine (after its monitor listens). `more`:
    /// further QEMU arguments.
    static func slowStart(_ bed: TestBed, more: [String] = []) -> String {
        let arguments = (["-mem-prealloc"] + more).map { "\"\($0)\"" }.joined(separator: ", ")
        return bed.definition(extra: "extra_args = [\(arguments)]").replacingOccurrences(of: "memory = \"256M\"", with: "memory = \"2G\"")
    }

    /// Whether `vm up` (``QEMUMachine/up(paused:)``) has returned.
    final class UpReturned: Sendable {
        let flag = Atomic<Bool>(false)
    }

    /// A FIFO that QEMU opens for writing as a serial port (`-serial file:PATH`) right after it
    /// set up its monitors: QEMU waits there, its monitor greeting but not answering, until the
    /// test opens the other end (``open()``), whatever the load on the machine.
    final class StartGate: Sendable {
        let path: String
        private let reader = Atomic<Int32>(-1)

        init(in folder: String) throws {
            path = folder + "/start-gate"
            guard mkfifo(path, 0o600) == 0 else { throw CocoaError(.fileWriteUnknown) }
        }

        /// QEMU's arguments for the gate.
        var qemuArguments: [String] { ["-serial", "file:\(path)"] }

        /// Lets QEMU go on (the read end stays open while the gate lives).
        func open() {
            reader.store(Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), ordering: .releasing)
        }

        deinit {
            let fd = reader.load(ordering: .acquiring)
            if fd >= 0 { close(fd) }
        }
    }

    /// `vm up` of a slow-starting VM in a task, and a client of the VM's socket that came while
    /// QEMU starts: greeted, and negotiated before `vm up` returned (QEMU waits at a
    /// ``StartGate`` until then, and then preallocates its memory).
    struct EarlyStart {
        let scratch: Scratch
        let machine: QEMUMachine
        let up: Task<UpReport, any Error>
        let client: QMPClient
        let gate: StartGate

        init(_ name: String, moreQEMUArguments: [String] = []) async throws {
            let bed = try await TestBed.prepare()
            scratch = try Scratch()
            gate = try StartGate(in: scratch.root)
            let loaded = try scratch.define(name, SupervisorTests.slowStart(bed, more: gate.qemuArguments + moreQEMUArguments))
            let machine = try scratch.machine(loaded)
            self.machine = machine
            let upReturned = UpReturned()
            up = Task {
                defer { upReturned.flag.store(true, ordering: .releasing) }
                return try await machine.up(paused: true)
            }
            let transport = try await UnixSocketTransport.connect(path: loaded.paths.qmpSocket, timeout: .seconds(60), awaitListener: true)
            client = try await QMPClient.connect(transport: transport, timeout: .seconds(60))
            let returned = upReturned.flag.load(ordering: .acquiring)
            #expect(!returned, "greeted and negotiated before QEMU answered")
            gate.open()
        }
    }

    @Test("a client that comes while QEMU starts is greeted at once; its commands are answered once QEMU is ready")
    func clientsAreGreetedWhileQEMUStarts() async throws {
        let start = try await EarlyStart("earlyclient")
        defer { start.client.close() }
        let negotiated = ContinuousClock.now
        #expect(try await start.client.queryStatus(timeout: .seconds(120)).status == "prelaunch")
        // QEMU zeroes 2 GiB between its greeting and its first answer: far longer than the
        // moment between a greeting that waited for QEMU's answer and that answer.
        #expect(ContinuousClock.now - negotiated > .milliseconds(50), "the negotiation did not wait for QEMU to be ready")
        #expect(try await start.up.value.qemuStatus == "prelaunch")
        #expect(try await start.machine.down(timeout: .seconds(1), force: true) == .quit)
    }

    @Test("a cont sent while QEMU starts: QEMU runs it once ready, and the client gets its RESUME event")
    func earlyContGetsItsResumeEvent() async throws {
        let start = try await EarlyStart("earlycont")
        defer { start.client.close() }
        let events = start.client.events(matching: .named("RESUME"))
        let resumed = Task { () -> Bool in
            for await _ in events { return true }
            return false
        }
        _ = try await start.client.execute("cont", timeout: .seconds(120))
        let limit = Task {
            try? await Task.sleep(for: .seconds(10))
            resumed.cancel()
        }
        #expect(await resumed.value, "no RESUME event within 10 s of the cont's reply")
        limit.cancel()
        _ = try await start.up.value
        #expect(try await start.client.queryStatus().status == "running")
        #expect(try await start.machine.down(timeout: .seconds(1), force: true) == .quit)
    }

    @Test("QEMU that ends after its greeting: an early client's command fails instead of waiting, and vm up shows QEMU's error")
    func earlyClientsLearnThatQEMUEndedWhileStarting() async throws {
        let start = try await EarlyStart("earlyend", moreQEMUArguments: ["-device", "vmtest-no-such-device"])
        defer { start.client.close() }
        await #expect(throws: QMPError.self) { _ = try await start.client.queryStatus(timeout: .seconds(120)) }
        do {
            _ = try await start.up.value
            Issue.record("QEMU started with a device it does not know")
        } catch {
            #expect("\(error)".contains("vmtest-no-such-device"), "\(error)")
        }
        #expect(Scratch.qemuProcesses(named: "earlyend").isEmpty)
    }

    @Test("vm down while QEMU still starts: SIGTERM at once, since there is no guest for the power button nor a monitor for quit yet")
    func downWhileQEMUStarts() async throws {
        let start = try await EarlyStart("earlydown")
        defer { start.client.close() }
        let outcome = try await start.machine.down(timeout: .seconds(60), force: false)
        let end = try #require(start.machine.runRecord()?.end)
        #expect(end.requestedBy == .downTerminate || end.requestedBy == .downKill, "\(end)")
        #expect(outcome == .terminated || outcome == .killed)
        await #expect(throws: (any Error).self) { _ = try await start.up.value }
        #expect(Scratch.qemuProcesses(named: "earlydown").isEmpty)
    }

    @Test func aKilledSupervisorIsReplacedAndTheVMRunsOn() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("orphan", Self.definition(bed, gpu: true))
        let machine = try scratch.machine(loaded)
        let pid = try #require(try await machine.up().pid)
        try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")
        let first = try #require(machine.runRecord())
        #expect(first.qemuPID == pid)
        kill(first.supervisorPID, SIGKILL)
        #expect(await machine.waitForExit(pid: first.supervisorPID, timeout: .seconds(10)))
        #expect(SystemProcessTable().isAlive(pid), "QEMU outlives its supervisor")

        // The next command notices and starts a supervisor that adopts the running QEMU.
        let status = await machine.status()
        #expect(status.state == .running && status.pid == pid, "\(status)")
        let adopted = try #require(machine.runRecord())
        #expect(adopted.supervisorPID != first.supervisorPID && SystemProcessTable().isAlive(adopted.supervisorPID),
                "\(status.note ?? "status answered through QMP"); supervisor log: \((try? String(contentsOfFile: loaded.paths.supervisorLog, encoding: .utf8))?.suffix(1500) ?? "none")")
        #expect(adopted.events.map(\.name).contains("SUPERVISOR_ADOPTED"))
        #expect(adopted.startedAt == first.startedAt)

        _ = try await machine.attachGPU(0)
        #expect(await machine.status().passthroughInGuest == ["gpu0-f0", "gpu0-f1"])
        _ = try await machine.detachGPU(0)
        #expect(try await machine.down(timeout: .seconds(60)) == .poweredOff)
        let end = try #require(machine.runRecord()?.end)
        // An adopter is not QEMU's parent; QEMU's SHUTDOWN event still says how it ended.
        #expect(end.cause == .guestPoweredOff && end.requestedBy == .downPowerButton && end.exitStatus == nil)
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.runtimeDirectory))
    }

    @Test("a stopped supervisor: vm status and vm down name it and QEMU runs on; vm down --force replaces it and ends the VM")
    func aStoppedSupervisorIsReplacedByDownForce() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("frozen", Self.definition(bed))
        let machine = try scratch.machine(loaded)
        let pid = try #require(try await machine.up().pid)
        let stopped = try #require(machine.runRecord()).supervisorPID
        kill(stopped, SIGSTOP)
        defer { kill(stopped, SIGKILL) }
        // A signal stops every thread only as each one next runs: wait until the process shows as stopped.
        let deadline = ContinuousClock.now + .seconds(10)
        while Self.processState(stopped) != "T", ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(Self.processState(stopped) == "T")

        let status = await machine.status()
        #expect(status.state == .running && status.pid == pid)
        #expect(status.note?.contains("the supervisor of frozen (pid \(stopped)) did not answer within 5 s") == true, "\(status.note ?? "no note")")
        await #expect(throws: UnresponsiveSupervisor.self) {
            try await machine.down(timeout: .seconds(30), force: false, keepGPUOnVFIO: false)
        }
        #expect(SystemProcessTable().isAlive(pid), "QEMU runs on")

        #expect(try await machine.down(timeout: .seconds(30), force: true, keepGPUOnVFIO: false) == .quit)
        #expect(!SystemProcessTable().isAlive(stopped))
        #expect(!SystemProcessTable().isAlive(pid))
        let record = try #require(machine.runRecord())
        #expect(record.supervisorPID != stopped)
        #expect(record.events.map(\.name).contains("SUPERVISOR_ADOPTED"))
        #expect(record.end?.requestedBy == .downQuit, "\(String(describing: record.end))")
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.runtimeDirectory))
    }

    /// The state letter in `/proc/PID/stat`, or nil when the process is gone.
    static func processState(_ pid: Int32) -> Character? {
        (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)).flatMap(SystemProcessTable.state(fromStat:))
    }

    @Test func followersStatusAndDownAtOnce() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("crowd", Self.definition(bed))
        let machine = try scratch.machine(loaded)
        _ = try await machine.up()
        try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")
        let vm = try BuiltExecutable.path("vm")
        let environment = ProcessInfo.processInfo.environment.merging(
            ["VM_HOME": "\(scratch.root)/d", "VM_RUNTIME_DIR": "\(scratch.root)/r", "VM_STATE_DIR": "\(scratch.root)/s"]) { $1 }

        // Each follower prints query-status's reply first: then it is subscribed.
        let followers = try (0..<3).map { index in
            try VMProcess(vm, ["qmp", "crowd", "query-status", "--events", "--raw"], environment, log: "\(scratch.root)/follower\(index)")
        }
        for follower in followers { try await follower.awaitOutput(containing: "\"running\"") }
        let stop = Atomic<Bool>(false)
        let statusLoop = Task.detached {
            var runs: [Int32] = []
            while !stop.load(ordering: .acquiring) {
                let status = try VMProcess(vm, ["status", "crowd"], environment, log: "\(scratch.root)/status")
                runs.append(await status.exitStatus())
            }
            return runs
        }
        let down = try VMProcess(vm, ["down", "crowd", "--timeout", "60"], environment, log: "\(scratch.root)/down")
        #expect(await down.exitStatus() == 0, "\(down.output)")
        #expect(down.output.contains("crowd powered off (ACPI power button)"), "\(down.output)")
        stop.store(true, ordering: .releasing)
        let statusRuns = try await statusLoop.value
        #expect(!statusRuns.isEmpty && statusRuns.allSatisfy { $0 == 0 })
        for follower in followers {
            #expect(await follower.exitStatus() == 0, "\(follower.output)")
            #expect(follower.output.contains("\"POWERDOWN\"") && follower.output.contains("\"SHUTDOWN\""), "\(follower.output)")
        }
    }
}

/// A `vm` process whose output (stdout and stderr together) goes to a file.
final class VMProcess: Sendable {
    private let process: ChildProcess
    private let log: String

    init(_ executable: String, _ arguments: [String], _ environment: [String: String], log: String) throws {
        let output = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(output) }
        process = try ChildProcess([executable] + arguments, environment: environment,
                                   standardOutput: .descriptor(output), standardError: .descriptor(output))
        self.log = log
    }

    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// Waits (at most two minutes) until the output holds `text`.
    func awaitOutput(containing text: String) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while !output.contains(text) {
            guard ContinuousClock.now < deadline, process.isRunning else {
                throw TestBedError.guestNotReady("no \(text) from vm: \(output)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits for the process to end; its status as a shell reports it.
    func exitStatus() async -> Int32 {
        await process.awaitExit()?.shellStatus ?? -1
    }
}

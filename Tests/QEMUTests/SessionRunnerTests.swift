import Foundation
import GuestSupport
import Sessions
import Subprocess
import SystemPackage
import Synchronization
import Testing
import VMCore
@testable import QEMU

/// Sessions on real QEMU with the test-bed guest and the hot stand-in GPU pair.
@Suite(.serialized)
struct SessionRunnerTests {
    static func definition(_ bed: TestBed) -> String { HotSwapGuestTests.hotStandIn(bed) }

    static func run(_ session: SessionDefinition, on machine: QEMUMachine) async -> (SessionOutcome, [SessionEvent]) {
        let events = Mutex<[SessionEvent]>([])
        let runner = SessionRunner(session: session, machine: machine, services: SessionServices()) { event in
            events.withLock { $0.append(event) }
        }
        let outcome = await runner.run()
        return (outcome, events.withLock { $0 })
    }

    static func steps(_ text: String, scratch: Scratch) throws -> SessionDefinition {
        try SessionParser(file: "\(scratch.root)/session.toml").parse(text)
    }

    @Test func aFullSessionPassesAndTheGuestSeesTheGPU() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("sess", Self.definition(bed))
        let session = try Self.steps("""
            vm = "sess"
            [[step]]
            action = "up"
            [[step]]
            action = "wait"
            serial = "VMTEST-READY"
            timeout = 240
            [[step]]
            action = "gpu-attach"
            [[step]]
            action = "wait"
            serial = "VMTEST-PCI-ADD .* class=0x03"
            timeout = 30
            [[step]]
            action = "exec"
            host = ["sh", "-c", "echo from-host"]
            output = "host.txt"
            [[step]]
            action = "gpu-detach"
            [[step]]
            action = "down"
            """, scratch: scratch)
        let (outcome, events) = await Self.run(session, on: try scratch.machine(loaded))
        #expect(outcome.status == .completed)
        #expect(outcome.exitCode == 0)
        #expect(outcome.steps.map(\.status) == Array(repeating: .ok, count: 7), "\(outcome.steps)")
        #expect(outcome.steps[6].message == "powered-off")
        #expect(outcome.cleanup.isEmpty)
        #expect(try String(contentsOfFile: "\(scratch.root)/host.txt", encoding: .utf8) == "from-host\n")
        #expect(events.first == .started(vm: "sess", steps: 7))
        #expect(Scratch.qemuProcesses(named: "sess").isEmpty)
    }

    @Test func aFailingExecCleansUpGPUAndVM() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("failing", Self.definition(bed))
        let session = try Self.steps("""
            vm = "failing"
            [[step]]
            action = "up"
            [[step]]
            action = "wait"
            serial = "VMTEST-READY"
            timeout = 240
            [[step]]
            action = "gpu-attach"
            [[step]]
            action = "exec"
            host = ["false"]
            [[step]]
            action = "down"
            """, scratch: scratch)
        let machine = try scratch.machine(loaded)
        let (outcome, _) = await Self.run(session, on: machine)
        #expect(outcome.status == .failed)
        #expect(outcome.steps.map(\.status) == [.ok, .ok, .ok, .failed, .skipped], "\(outcome.steps)")
        #expect(outcome.steps[3].message == "exited with 1, expected 0")
        #expect(outcome.cleanup.first == "gpu[0] detached and returned to the host")
        #expect(outcome.cleanup.last == "VM down: powered-off")
        #expect(try machine.swapper().journal.read() == nil)
        #expect(Scratch.qemuProcesses(named: "failing").isEmpty)
    }

    @Test func aSessionOnARunningVMLeavesItAsItWas() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("busy", Self.definition(bed))
        let machine = try scratch.machine(loaded)
        let pid = try #require(try await machine.up(paused: true).pid)
        let session = try Self.steps("""
            vm = "busy"
            [[step]]
            action = "up"
            [[step]]
            action = "down"
            """, scratch: scratch)
        let (outcome, _) = await Self.run(session, on: machine)
        #expect(outcome.status == .failed)
        #expect(outcome.steps[0].message?.contains("busy is already running (QEMU pid \(pid))") == true, "\(outcome.steps)")
        #expect(outcome.steps[1].status == .skipped)
        #expect(outcome.cleanup == ["this session did not start busy: it is left as it was"])
        let status = await machine.status()
        #expect(status.state == .paused && status.pid == pid, "the VM is as it was: \(status)")
        #expect(try await machine.down(timeout: .seconds(1), force: true) == .quit)
    }

    @Test func aCrashedQEMUEndsTheWaitAndCleansUp() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("crash", Self.definition(bed))
        let session = try Self.steps("""
            vm = "crash"
            [[step]]
            action = "up"
            [[step]]
            action = "exec"
            host = ["pkill", "-KILL", "-f", "guest=crash,process=vm-crash"]
            [[step]]
            action = "wait"
            serial = "never printed"
            """, scratch: scratch)
        let (outcome, _) = await Self.run(session, on: try scratch.machine(loaded))
        #expect(outcome.status == .failed)
        #expect(outcome.steps[2].message == SessionError.vmGone.description)
        #expect(Scratch.qemuProcesses(named: "crash").isEmpty)
    }

    /// Runs `vm session run --json` on `vm` (up, wait for READY, attach the GPU, wait until
    /// stopped[, down]) and sends `signal` once the session waits with the GPU in the guest.
    static func runBinary(vm name: String, scratch: Scratch, signal: Signal, endWithDown: Bool) async throws
        -> (terminationStatus: TerminationStatus, output: String) {
        let file = "\(scratch.root)/session.toml"
        try """
            vm = "\(name)"
            [[step]]
            action = "up"
            [[step]]
            action = "wait"
            serial = "VMTEST-READY"
            timeout = 240
            [[step]]
            action = "gpu-attach"
            [[step]]
            action = "wait"
            until_stopped = true
            timeout = 600
            """.appending(endWithDown ? "\n[[step]]\naction = \"down\"\n" : "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let result = try await Subprocess.run(
            .path(FilePath(try BuiltExecutable.path("vm"))), arguments: ["session", "run", file, "--json"], environment: scratch.environment,
            input: .none, output: .sequence, error: .discarded
        ) { execution in
            var text = ""
            for try await line in execution.standardOutput.strings() {
                text += line
                if line.contains("\"step\":4") && line.contains("waiting") {
                    _ = try? execution.send(signal: signal)
                }
            }
            return text
        }
        return (result.terminationStatus, result.closureResult)
    }

    /// The real signal path: `vm session run` gets SIGINT during a wait and cleans up.
    @Test func sigintDuringAWaitCleansUp() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("sigint", Self.definition(bed))
        let result = try await Self.runBinary(vm: "sigint", scratch: scratch, signal: .interrupt, endWithDown: true)
        #expect(result.terminationStatus == .exited(130))
        let log = result.output
        #expect(log.contains(#""did":"gpu[0] detached and returned to the host""#))
        #expect(log.contains(#""did":"VM down: powered-off""#))
        #expect(try scratch.machine(loaded).swapper().journal.read() == nil)
        #expect(Scratch.qemuProcesses(named: "sigint").isEmpty)
    }

    /// `kill -9` of the session leaves the VM running with the GPU journaled; `vm gpu recover`
    /// and `vm down` then leave nothing behind.
    @Test func killedSessionIsRecovered() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("killed", Self.definition(bed))
        let result = try await Self.runBinary(vm: "killed", scratch: scratch, signal: .kill, endWithDown: false)
        #expect(result.terminationStatus == .signaled(SIGKILL))
        let machine = try scratch.machine(loaded)
        #expect(try machine.swapper().journal.read()?.phase == .inGuest)

        let vm = try BuiltExecutable.path("vm")
        let recover = try await Subprocess.run(.path(FilePath(vm)), arguments: ["gpu", "recover", "killed"],
                                               environment: scratch.environment, output: .string(limit: 1 << 16), error: .string(limit: 1 << 16))
        #expect(recover.terminationStatus.isSuccess, "\(recover.standardError)")
        let down = try await Subprocess.run(.path(FilePath(vm)), arguments: ["down", "killed", "--timeout", "30"],
                                            environment: scratch.environment, output: .string(limit: 1 << 16), error: .string(limit: 1 << 16))
        #expect(down.terminationStatus == .exited(0), "\(down.standardOutput)\(down.standardError)")
        #expect(try machine.swapper().journal.read() == nil)
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.runtimeDirectory))
        #expect(Scratch.qemuProcesses(named: "killed").isEmpty)
    }
}

/// Guest steps through the real qemu-ga in the test-bed guest.
@Suite(.serialized)
struct SessionGuestAgentTests {
    @Test func waitForTheAgentAndRunCommandsInTheGuest() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("agent", bed.definition(extraCmdline: "vmtest.ga=1", extra: "guest_agent = true"))
        let session = try SessionParser(file: "\(scratch.root)/session.toml").parse("""
            vm = "agent"
            [[step]]
            action = "up"
            [[step]]
            action = "wait"
            agent = true
            timeout = 240
            [[step]]
            action = "exec"
            guest = ["/bin/sh", "-c", "echo guest-says-hi; ls /sys/bus/pci/devices | wc -l"]
            output = "guest.txt"
            [[step]]
            action = "exec"
            guest = ["/bin/false"]
            on_failure = "continue"
            [[step]]
            action = "down"
            """)
        let runner = SessionRunner(session: session, machine: try scratch.machine(loaded),
                                   services: SessionServices(guestAgent: GuestAgentSocket(socket: loaded.paths.agentSocket)),
                                   report: { _ in })
        let outcome = await runner.run()
        #expect(outcome.status == .completed)
        #expect(outcome.exitCode == 1, "a step failed (with on_failure = continue)")
        #expect(outcome.steps.map(\.status) == [.ok, .ok, .ok, .failed, .ok], "\(outcome.steps)")
        #expect(outcome.steps[3].message == "exited with 1, expected 0")
        let output = try String(contentsOfFile: "\(scratch.root)/guest.txt", encoding: .utf8)
        #expect(output.hasPrefix("guest-says-hi\n"))
        #expect(Scratch.qemuProcesses(named: "agent").isEmpty)
    }
}

import Foundation
import GuestAgent
import GuestSupport
import Sessions
import Subprocess
import SystemPackage
import Synchronization
import Testing
import VMCore
@testable import Libvirt

/// Sessions and waits on a libvirt-run VM, against the real daemon (`qemu:///system`) with the
/// test-bed guest: the same ``SessionRunner`` as on the QEMU backend, through the backend protocol.
@Suite(.serialized) struct LibvirtSessionTests {
    static let uri = "qemu:///system"

    /// A test-bed VM with `backend = "libvirt"` in a scratch folder, as `LibvirtMachine`; its
    /// domain is destroyed and undefined after `body`.
    static func withLibvirtMachine(extraCmdline: String = "", extra: String = "",
                                   _ body: (Scratch, LibvirtMachine) async throws -> Void) async throws {
        _ = try await LibvirtDaemon.shared.systemConnection()
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let name = "vmt-\(UUID().uuidString.prefix(8).lowercased())"
        let loaded = try scratch.define(name, bed.definition(extraCmdline: extraCmdline,
                                                             extra: "backend = \"libvirt\"\nlibvirt_uri = \"\(uri)\"\n\(extra)"))
        defer {
            if let domain = try? LibvirtConnection(uri: uri).domainIfDefined(named: name) {
                try? domain.destroy()
                try? domain.undefine(nvram: .remove)
            }
        }
        try await body(scratch, LibvirtMachine(spec: loaded.spec, paths: loaded.paths, uri: uri))
    }

    static func run(_ text: String, on machine: LibvirtMachine, in scratch: Scratch,
                    services: SessionServices = SessionServices(),
                    onEvent: @escaping @Sendable (SessionEvent) -> Void = { _ in }) async throws -> (SessionOutcome, [SessionEvent]) {
        let session = try SessionParser(file: "\(scratch.root)/session.toml").parse(text)
        let events = Mutex<[SessionEvent]>([])
        let runner = SessionRunner(session: session, machine: machine, services: services) { event in
            events.withLock { $0.append(event) }
            onEvent(event)
        }
        let outcome = await runner.run()
        return (outcome, events.withLock { $0 })
    }

    static func domainState(_ machine: LibvirtMachine) throws -> DomainState {
        try LibvirtConnection(uri: uri).domain(named: machine.spec.name.rawValue).state()
    }

    /// up / wait (a QMP event through libvirt's monitor events, then serial) / down.
    @Test(.timeLimit(.minutes(5)))
    func upWaitDownSessionOnALibvirtBackedDefinition() async throws {
        try await Self.withLibvirtMachine { scratch, machine in
            let name = machine.spec.name.rawValue
            // While step 2 waits for RESUME (and only then), the test pauses and resumes the domain
            // every second: a RESUME before the wait subscribed is missed, the next one is not.
            let waiting = Mutex(false)
            let resumer = Task {
                while !Task.isCancelled {
                    if waiting.withLock({ $0 }) {
                        for verb in ["suspend", "resume"] {
                            _ = try? await Subprocess.run(.name("virsh"), arguments: ["-q", "-c", Self.uri, verb, name],
                                                          output: .discarded, error: .discarded)
                        }
                    }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            defer { resumer.cancel() }
            let (outcome, events) = try await Self.run("""
                vm = "\(name)"
                [[step]]
                action = "up"
                paused = true
                [[step]]
                action = "wait"
                event = "RESUME"
                timeout = 60
                [[step]]
                action = "wait"
                serial = "^VMTEST-READY"
                timeout = 120
                [[step]]
                action = "down"
                timeout = 75
                """, on: machine, in: scratch) { event in
                switch event {
                case .stepStarted(2, _, _): waiting.withLock { $0 = true }
                case .stepFinished(let result) where result.index == 2: waiting.withLock { $0 = false }
                default: break
                }
            }
            #expect(outcome.status == .completed, "\(outcome.steps)")
            #expect(outcome.steps.map(\.status) == Array(repeating: .ok, count: 4), "\(outcome.steps)")
            #expect(outcome.steps[1].message?.hasPrefix("RESUME at ") == true, "\(outcome.steps[1])")
            #expect(outcome.steps[3].message == "powered-off")
            #expect(outcome.cleanup.isEmpty)
            #expect(events.first == .started(vm: name, steps: 4))
            #expect(try Self.domainState(machine) == .shutOff)
        }
    }

    /// `vm session stop NAME` ends the `until_stopped` wait of a session on a libvirt-run VM.
    @Test(.timeLimit(.minutes(5)))
    func sessionStopEndsTheWaitOnALibvirtRunVM() async throws {
        try await Self.withLibvirtMachine { scratch, machine in
            let name = machine.spec.name.rawValue
            let vm = try BuiltExecutable.path("vm")
            // Asked once the session waits: a request from before the wait is dropped as stale.
            let (waiting, started) = AsyncStream.makeStream(of: Void.self)
            let stopper = Task {
                for await _ in waiting { break }
                return try await Subprocess.run(.path(FilePath(vm)), arguments: ["session", "stop", name], environment: scratch.environment,
                                                output: .string(limit: 1 << 16), error: .string(limit: 1 << 16))
            }
            let (outcome, _) = try await Self.run("""
                vm = "\(name)"
                [[step]]
                action = "up"
                paused = true
                [[step]]
                action = "wait"
                until_stopped = true
                timeout = 60
                [[step]]
                action = "down"
                force = true
                """, on: machine, in: scratch, onEvent: { event in
                    if case .waiting(index: 2, _, _) = event { started.yield() }
                })
            started.finish()
            let stop = try await stopper.value
            #expect(stop.terminationStatus == .exited(0), "\(stop.standardError)")
            #expect(stop.standardOutput.contains("asked the session on \(name) to go on"))
            #expect(outcome.status == .completed, "\(outcome.steps)")
            #expect(outcome.steps[1].message == "stopped by `vm session stop`")
            #expect(try Self.domainState(machine) == .shutOff)
        }
    }

    /// The guest agent through libvirt (`virDomainQemuAgentCommand`): an agent wait and a guest
    /// command with its output, in a session on the test-bed guest running qemu-ga.
    @Test(.timeLimit(.minutes(5)))
    func guestAgentStepsGoThroughLibvirt() async throws {
        try await Self.withLibvirtMachine(extraCmdline: "vmtest.ga=1", extra: "guest_agent = true") { scratch, machine in
            let name = machine.spec.name.rawValue
            let agent = GuestAgentThroughChannel(channel: LibvirtGuestAgent(uri: Self.uri, domain: name))
            let (outcome, _) = try await Self.run("""
                vm = "\(name)"
                [[step]]
                action = "up"
                [[step]]
                action = "wait"
                agent = true
                timeout = 120
                [[step]]
                action = "exec"
                guest = ["/bin/sh", "-c", "echo through-libvirt; exit 3"]
                output = "guest.txt"
                expect_exit = 3
                [[step]]
                action = "down"
                force = true
                """, on: machine, in: scratch, services: SessionServices(guestAgent: agent))
            #expect(outcome.status == .completed, "\(outcome.steps)")
            #expect(outcome.steps.map(\.status) == Array(repeating: .ok, count: 4), "\(outcome.steps)")
            #expect(try String(contentsOfFile: "\(scratch.root)/guest.txt", encoding: .utf8) == "through-libvirt\n")
            let error = await #expect(throws: GuestAgentError.self) { try await agent.ping(timeout: .seconds(1)) }
            guard case .commandFailed(let command, "libvirt", _) = error else { Issue.record("\(String(describing: error))"); return }
            #expect(command == "guest-ping", "a stopped domain has no agent: libvirt's own words")
        }
    }

    /// A failed step after `up`: the cleanup brings the libvirt domain down through the backend.
    @Test(.timeLimit(.minutes(5)))
    func aFailedStepCleansUpTheLibvirtDomain() async throws {
        try await Self.withLibvirtMachine { scratch, machine in
            let (outcome, _) = try await Self.run("""
                vm = "\(machine.spec.name)"
                [[step]]
                action = "up"
                [[step]]
                action = "wait"
                serial = "^VMTEST-READY"
                timeout = 120
                [[step]]
                action = "exec"
                host = ["false"]
                [[step]]
                action = "down"
                """, on: machine, in: scratch)
            #expect(outcome.status == .failed)
            #expect(outcome.steps.map(\.status) == [.ok, .ok, .failed, .skipped])
            #expect(outcome.cleanup == ["VM down: powered-off"], "\(outcome.cleanup)")
            #expect(try Self.domainState(machine) == .shutOff)
        }
    }

    /// A session whose `up` finds the domain running leaves it running.
    @Test(.timeLimit(.minutes(5)))
    func aSessionLeavesARunningDomainItDidNotStart() async throws {
        try await Self.withLibvirtMachine { scratch, machine in
            _ = try await machine.up(paused: true)
            let (outcome, _) = try await Self.run("""
                vm = "\(machine.spec.name)"
                [[step]]
                action = "up"
                """, on: machine, in: scratch)
            #expect(outcome.status == .failed)
            #expect(outcome.cleanup.count == 1)
            #expect(outcome.cleanup.first?.contains("did not start") == true)
            #expect(try Self.domainState(machine) == .paused)
        }
    }

    /// The QMP event wait ends with the event (POWERDOWN after the power button), and fails
    /// when the domain stops first or does not run.
    @Test(.timeLimit(.minutes(5)))
    func qmpEventWaitsGoThroughLibvirt() async throws {
        // A guest that ignores the power button, so that it can be pressed until the wait saw it.
        try await Self.withLibvirtMachine(extraCmdline: "vmtest.acpi=off") { scratch, machine in
            let name = machine.spec.name.rawValue
            await #expect(throws: VMWaitError.stoppedFirst(name: name, event: "POWERDOWN")) {
                try await machine.waitForEvent(named: "POWERDOWN")
            }
            _ = try await machine.up(paused: false)
            #expect(machine.isRunning)
            let seen = Mutex(false)
            let powerdown = Task {
                try await machine.waitForEvent(named: "POWERDOWN")
                seen.withLock { $0 = true }
            }
            // A press before the wait subscribed is missed; one a second until the wait has one.
            for _ in 0..<120 where !seen.withLock({ $0 }) {
                try LibvirtConnection(uri: Self.uri).domain(named: name).requestShutdown()
                try await Task.sleep(for: .seconds(1))
            }
            try await powerdown.value

            _ = try? await machine.down(timeout: .seconds(1), force: true)
            _ = try await machine.up(paused: true)
            let reset = Task { try await machine.waitForEvent(named: "RESET") }
            try await Task.sleep(for: .seconds(3))
            try LibvirtConnection(uri: Self.uri).domain(named: name).destroy()
            await #expect(throws: VMWaitError.stoppedFirst(name: name, event: "RESET")) { try await reset.value }
            #expect(!machine.isRunning)
        }
    }

    /// `vm gpu recover` on libvirt: managed hostdevs need no journal; nothing is left on vfio-pci.
    @Test(.timeLimit(.minutes(5)))
    func recoverOnLibvirtSaysLibvirtReturnsManagedDevices() async throws {
        try await Self.withLibvirtMachine { _, machine in
            let stopped = try await machine.recover()
            #expect(stopped.count == 1)
            #expect(stopped.first?.contains("libvirt gives managed hostdevs back") == true, "\(stopped)")
            #expect(stopped.first?.contains("no GPU function of it is left on vfio-pci") == true, "\(stopped)")
            _ = try await machine.up(paused: true)
            let running = try await machine.recover()
            #expect(running.first?.contains("nothing to recover") == true, "\(running)")
            #expect(try await machine.returnGPUs() == [])
        }
    }
}

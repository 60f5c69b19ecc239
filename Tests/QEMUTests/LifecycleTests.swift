import Foundation
import GuestSupport
import QMP
import Testing
import VMCore
@testable import QEMU

/// `vm up` / `vm down` / status against real QEMU (TCG) booting the test-bed guest. Serialized:
/// each test runs a TCG guest and this machine has two cores.
@Suite(.serialized)
struct LifecycleTests {
    @Test func upStatusAndPoliteDown() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("polite", bed.definition())
        let machine = try scratch.machine(loaded)

        let report = try await machine.up()
        #expect(report.qemuStatus == "running")
        #expect(!report.recoveredStaleState)
        try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")

        let status = await machine.status()
        #expect(status.state == .running)
        #expect(status.pid == report.pid)
        #expect(status.passthroughInGuest == [])
        let runtimeMode = try FileManager.default.attributesOfItem(atPath: loaded.paths.runtimeDirectory)[.posixPermissions] as? Int
        #expect(runtimeMode == 0o700)

        // The ACPI path: the guest's acpid powers off, QEMU sends SHUTDOWN and exits.
        let outcome = try await machine.down(timeout: .seconds(60))
        #expect(outcome == .poweredOff)
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.runtimeDirectory))
        #expect(Scratch.qemuProcesses(named: "polite").isEmpty)
        #expect(await machine.status().state == .stopped)
    }

    @Test func stubbornGuestIsEscalatedToQuit() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("stubborn", bed.definition(extraCmdline: "vmtest.acpi=off"))
        let machine = try scratch.machine(loaded)
        _ = try await machine.up()
        try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")

        let started = ContinuousClock.now
        let outcome = try await machine.down(timeout: .seconds(3))
        #expect(outcome == .quit)
        #expect(outcome.exitCode == 3)
        #expect(ContinuousClock.now - started >= .seconds(3))
        #expect(Scratch.qemuProcesses(named: "stubborn").isEmpty)
    }

    @Test func unwatchedKilledQEMUIsReportedCrashedAndUpRecovers() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("crashy", bed.definition())
        let machine = try scratch.machine(loaded)
        let first = try await machine.up()
        let firstPID = try #require(first.pid)
        // Nobody watches: the supervisor goes first, then QEMU.
        let supervisor = try #require(machine.runRecord()?.supervisorPID)
        kill(supervisor, SIGKILL)
        #expect(await machine.waitForExit(pid: supervisor, timeout: .seconds(10)))
        kill(firstPID, SIGKILL)
        #expect(await machine.waitForExit(pid: firstPID, timeout: .seconds(10)))

        let crashed = await machine.status()
        #expect(crashed.state == .crashed)
        #expect(crashed.pid == firstPID)
        #expect(crashed.note?.hasPrefix("QEMU (pid \(firstPID)) ended while no supervisor watched it") == true, "\(crashed)")

        let second = try await machine.up()
        #expect(second.recoveredStaleState)
        #expect(second.pid != firstPID)
        #expect(await machine.status().state == .running)
        #expect(try await machine.down(timeout: .seconds(1), force: true) == .quit)
    }

    @Test func concurrentUpStartsExactlyOneQEMU() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("twice", bed.definition())
        let results = await withTaskGroup(of: Result<Int32, any Error>.self) { group in
            for _ in 0..<2 {
                group.addTask {
                    do { return .success(try await scratch.machine(loaded).up().pid ?? -1) } catch { return .failure(error) }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let started = results.compactMap { try? $0.get() }
        #expect(started.count == 1)
        let refusals = results.compactMap { result -> UpError? in
            if case .failure(let error) = result { return error as? UpError }
            return nil
        }
        #expect(refusals.count == 1)
        if case .alreadyRunning(_, let pid)? = refusals.first { #expect(pid == started.first) } else { Issue.record("expected alreadyRunning, got \(refusals)") }
        #expect(Scratch.qemuProcesses(named: "twice").count == 1)
        _ = try await scratch.machine(loaded).down(timeout: .seconds(1), force: true)
    }

    @Test func upRefusesWhileRunningAndDownOfStoppedVMIsANoOp() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("once", bed.definition())
        let machine = try scratch.machine(loaded)
        #expect(try await machine.down(timeout: .seconds(1)) == .notRunning)
        _ = try await machine.up(paused: true)
        let status = await machine.status()
        #expect(status.state == .paused, "\(status.note ?? "")")
        await #expect(throws: UpError.self) { try await machine.up() }
        #expect(try await machine.down(timeout: .seconds(1), force: true) == .quit)
    }

    @Test func passthroughProblemsRefuseUpBeforeAnythingStarts() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("gpuvm", bed.definition())
        let machine = try scratch.machine(loaded, passthroughProblems: { _ in ["0000:05:00.0 is bound to nvidia"] })
        do {
            _ = try await machine.up()
            Issue.record("up should have refused")
        } catch let error as StartRefusal {
            #expect(error.description == "passthrough devices are not ready:\n  - 0000:05:00.0 is bound to nvidia")
        }
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.runtimeDirectory))
        #expect(Scratch.qemuProcesses(named: "gpuvm").isEmpty)
    }

    @Test func kvmIsUsedOrItsAbsenceIsExplained() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("kvmvm", bed.definition().replacingOccurrences(of: "accelerator = \"tcg\"", with: "accelerator = \"kvm\""))
        let machine = try scratch.machine(loaded)
        do {
            let report = try await machine.up()
            // A host with working KVM: QEMU must really use it.
            let client = try await QMPClient.connect(path: try #require(report.qmpSocket))
            #expect(try await client.queryKVM().enabled)
            client.close()
            _ = try await machine.down(timeout: .seconds(1), force: true)
        } catch let error as StartRefusal {
            switch error {
            case .kvmMissing, .kvmBroken:
                #expect(error.description.contains("accelerator = \"tcg\""))
            case .passthroughNotReady, .networkNotReady, .runsOnOtherBackend, .soundServerMissing, .hyperVUnsupported:
                Issue.record("unexpected error: \(error)")
            }
        }
        #expect(Scratch.qemuProcesses(named: "kvmvm").isEmpty)
    }
}

import Foundation
import GuestSupport
import Testing
import VMCore
@testable import QEMU

/// How `vm up` starts QEMU in the background (no `-daemonize`): real QEMU, the test-bed guest.
@Suite(.serialized)
struct BackgroundLaunchTests {
    @Test func qemuRunsDetachedWithOnlyItsLogAndNoZombieAfterDown() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("detached", bed.definition())
        let machine = try scratch.machine(loaded)
        let pid = try #require(try await machine.up(paused: true).pid)

        #expect(getsid(pid) == pid, "QEMU leads a session of its own")
        #expect(getsid(pid) != getsid(0))
        #expect(Self.link("/proc/\(pid)/cwd") == "/")
        #expect(Self.link("/proc/\(pid)/fd/0") == "/dev/null")
        #expect(Self.link("/proc/\(pid)/fd/1") == loaded.paths.qemuLog)
        #expect(Self.link("/proc/\(pid)/fd/2") == loaded.paths.qemuLog)
        let targets = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").compactMap { Self.link("/proc/\(pid)/fd/\($0)") }
        #expect(!targets.contains(loaded.paths.lockFile), "the VM lock's descriptor stays with vm")

        #expect(try await machine.down(timeout: .seconds(1), force: true) == .quit)
        // QEMU was this process's child: once it ended, its exit status was collected.
        let deadline = ContinuousClock.now + .seconds(5)
        while FileManager.default.fileExists(atPath: "/proc/\(pid)"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(!FileManager.default.fileExists(atPath: "/proc/\(pid)"), "QEMU \(pid) left a zombie")
    }

    @Test func qemuThatEndsWhileStartingIsReportedWithItsLog() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("broken", bed.definition(extra: "extra_args = [\"-device\", \"vmtest-no-such-device\"]"))
        let machine = try scratch.machine(loaded)
        do {
            _ = try await machine.up()
            Issue.record("QEMU started with a device it does not know")
        } catch UpError.launchFailed(.ended(let ending, let log)) {
            #expect(ending == .exited(status: 1))
            #expect(log.contains("vmtest-no-such-device"), "QEMU's own message: \(log)")
            #expect(UpError.launchFailed(.ended(ending, log: log)).description.hasPrefix("QEMU exited with status 1 before its monitor answered:\n"))
        }
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.runtimeDirectory))
        #expect(Scratch.qemuProcesses(named: "broken").isEmpty)
    }

    @Test func aPidfileThatDoesNotNameQEMUEndsTheStart() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let elsewhere = "\(scratch.root)/elsewhere.pid"
        let loaded = try scratch.define("pidfile", bed.definition(extra: "extra_args = [\"-pidfile\", \"\(elsewhere)\"]"))
        let machine = try scratch.machine(loaded)
        do {
            _ = try await machine.up(paused: true)
            Issue.record("up trusted a QEMU its pidfile does not name")
        } catch UpError.pidfileMismatch(let path, _) {
            #expect(path == loaded.paths.pidFile)
        }
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.runtimeDirectory))
        #expect(Scratch.qemuProcesses(named: "pidfile").isEmpty)
    }

    @Test(arguments: [(Int32(0), QEMUEnding.exited(status: 0)), (1 << 8, .exited(status: 1)), (255 << 8, .exited(status: 255)),
                      (9, .killed(signal: 9)), (0x80 | 11, .killed(signal: 11))])
    func waitStatusesAreDecoded(status: Int32, ending: QEMUEnding) {
        #expect(QEMUEnding(waitStatus: status) == ending)
    }

    static func link(_ path: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: path)
    }
}

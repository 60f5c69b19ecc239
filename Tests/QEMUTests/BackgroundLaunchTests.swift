import Foundation
import GuestSupport
import Testing
import VMCore
@testable import QEMU

/// How `vm up` starts QEMU in the background (no `-daemonize`): real QEMU, the test-bed guest.
@Suite(.serialized)
struct BackgroundLaunchTests {
    @Test func qemuRunsAsADaemonWithOnlyItsLog() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("detached", bed.definition())
        let machine = try scratch.machine(loaded)
        let pid = try #require(try await machine.up(paused: true).pid)

        #expect(getsid(pid) != getsid(0), "QEMU runs in a session of its own")
        #expect(getsid(pid) != pid, "QEMU does not lead its session, so no terminal it opens becomes its controlling one")
        #expect(Self.parent(of: pid) != getpid(), "QEMU is not this process's child")
        let supervisor = try #require(machine.runRecord()?.supervisorPID)
        #expect(Self.parent(of: pid) == supervisor, "QEMU's supervisor is its parent and learns how it ends")
        #expect(getsid(supervisor) == getsid(pid) && getsid(supervisor) != supervisor, "neither leads the session")
        #expect(Self.link("/proc/\(pid)/cwd") == "/")
        #expect(Self.link("/proc/\(pid)/fd/0") == "/dev/null")
        #expect(Self.link("/proc/\(pid)/fd/1") == loaded.paths.qemuLog)
        #expect(Self.link("/proc/\(pid)/fd/2") == loaded.paths.qemuLog)
        let targets = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").compactMap { Self.link("/proc/\(pid)/fd/\($0)") }
        #expect(!targets.contains(loaded.paths.lockFile), "the VM lock's descriptor stays with vm")

        #expect(try await machine.down(timeout: .seconds(1), force: true) == .quit)
    }

    @Test func qemuThatEndsWhileStartingIsReportedWithItsLog() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("broken", bed.definition(extra: "extra_args = [\"-device\", \"vmtest-no-such-device\"]"))
        let machine = try scratch.machine(loaded)
        do {
            _ = try await machine.up()
            Issue.record("QEMU started with a device it does not know")
        } catch UpError.launchFailed(.ended(let log)) {
            #expect(log.contains("vmtest-no-such-device"), "QEMU's own message: \(log)")
            #expect(UpError.launchFailed(.ended(log: log)).description.hasPrefix("QEMU ended before its monitor answered:\n"))
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

    @Test func aBinaryThatCannotRunIsRefusedAtOnce() async throws {
        let scratch = try Scratch()
        let log = "\(scratch.root)/q.log"
        let supervisor = SupervisorInvocation(executable: try BuiltExecutable.path("vm-supervisor"), definitionFile: "\(scratch.root)/x.toml",
                                              paths: VMPaths(runtimeDirectory: "\(scratch.root)/r", stateDirectory: scratch.root))
        #expect(throws: LaunchError.spawnFailed(executable: "/nonexistent/qemu", errno: ENOENT)) {
            try QEMULauncher(executable: "/nonexistent/qemu").start(arguments: [], logFile: log, supervisor: supervisor)
        }
        #expect(throws: LaunchError.spawnFailed(executable: "/bin/true", errno: ENOENT)) {
            try QEMULauncher(executable: "/bin/true").start(arguments: [], logFile: "\(scratch.root)/missing/q.log", supervisor: supervisor)
        }
    }

    /// The parent pid in `/proc/PID/stat`.
    static func parent(of pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let fields = SystemProcessTable.fieldsAfterName(fromStat: stat), fields.count > 1 else { return nil }
        return Int32(fields[1])
    }

    static func link(_ path: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: path)
    }
}

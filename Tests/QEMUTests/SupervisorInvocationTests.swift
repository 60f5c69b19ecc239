import Foundation
import GuestSupport
import Subprocess
import SystemPackage
import Testing
import VMCore
@testable import QEMU

/// The supervisor's command line: `vm up` writes it, `vm-supervisor` reads it back; bad input is
/// named, never a crash; a missing `vm-supervisor` stops `vm up` before anything starts.
struct SupervisorInvocationTests {
    static let paths = VMPaths(runtimeDirectory: "/run/vm/demo", stateDirectory: "/var/lib/vm/demo")
    static let invocation = SupervisorInvocation(executable: "/usr/local/bin/vm-supervisor", definitionFile: "/etc/vm/demo.toml",
                                                 paths: paths)

    @Test func whatUpWritesIsReadBack() throws {
        let argv = Self.invocation.arguments(qemuPID: "4242", adopt: true, tapDescriptor: 5, resume: true, swtpmPID: 77)
        #expect(argv[0] == "/usr/local/bin/vm-supervisor")
        #expect(argv[SupervisorInvocation.pidSlot] == "4242", "the C launcher writes QEMU's pid into this slot")
        let request = try SupervisorInvocation.Request(arguments: Array(argv.dropFirst()))
        #expect(request.definitionFile == "/etc/vm/demo.toml")
        #expect(request.runtimeDirectory == "/run/vm/demo" && request.stateDirectory == "/var/lib/vm/demo")
        #expect(request.qemuPID == 4242 && request.adopt && request.tapDescriptor == 5 && request.resume && request.swtpmPID == 77)

        let plain = try SupervisorInvocation.Request(arguments: Array(Self.invocation.arguments(qemuPID: "9").dropFirst()))
        #expect(plain.qemuPID == 9 && !plain.adopt && plain.tapDescriptor == nil && !plain.resume && plain.swtpmPID == nil)
    }

    @Test(arguments: [
        (["/etc/vm/demo.toml", "--runtime-dir", "/r", "--state-dir", "/s"], "--qemu-pid is missing"),
        (["/etc/vm/demo.toml", "--runtime-dir", "/r", "--state-dir", "/s", "--qemu-pid", "x1"], "--qemu-pid takes a number, not 'x1'"),
        (["/etc/vm/demo.toml", "--runtime-dir", "/r", "--state-dir", "/s", "--qemu-pid", "-3"], "--qemu-pid takes a number, not '-3'"),
        (["/etc/vm/demo.toml", "--runtime-dir", "/r", "--state-dir"], "--state-dir needs a value"),
        (["--runtime-dir", "/r", "--state-dir", "/s", "--qemu-pid", "7"], "the definition file is missing"),
        (["/a.toml", "/b.toml", "--runtime-dir", "/r", "--state-dir", "/s", "--qemu-pid", "7"], "unknown argument '/b.toml'"),
        (["/a.toml", "--runtime-dir", "/r", "--state-dir", "/s", "--qemu-pid", "7", "--verbose"], "unknown argument '--verbose'"),
        ([String](), "the definition file is missing"),
    ])
    func badCommandLinesAreNamed(arguments: [String], problem: String) {
        #expect(throws: SupervisorInvocation.RequestError(problem)) { try SupervisorInvocation.Request(arguments: arguments) }
    }

    /// The executable itself: a bad command line is a clear error and exit status 1.
    @Test func theExecutableSaysWhatIsWrong() async throws {
        let result = try await Subprocess.run(.path(FilePath(try BuiltExecutable.path("vm-supervisor"))),
                                              arguments: ["/nonexistent/demo.toml", "--runtime-dir", "/r", "--state-dir", "/s"],
                                              output: .string(limit: 1 << 16), error: .string(limit: 1 << 16))
        #expect(result.terminationStatus == .exited(1))
        #expect(result.standardError.contains("vm-supervisor: --qemu-pid is missing; vm-supervisor is started by `vm up`"),
                "\(result.standardError)")
    }

    /// Without `vm-supervisor` next to it, `vm up` refuses before it creates anything or starts QEMU.
    @Test func upRefusesWithoutTheSupervisorExecutable() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("nosup", bed.definition())
        let machine = try scratch.machine(loaded, supervisor: "\(scratch.root)/missing/vm-supervisor")
        do {
            _ = try await machine.up(paused: true)
            Issue.record("up started a VM without its supervisor")
        } catch UpError.supervisorMissing(let path) {
            #expect(path == "\(scratch.root)/missing/vm-supervisor")
            #expect(UpError.supervisorMissing(path: path).description.contains("swift build --product vm-supervisor"))
        }
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.runtimeDirectory))
        #expect(Scratch.qemuProcesses(named: "nosup").isEmpty)
    }
}

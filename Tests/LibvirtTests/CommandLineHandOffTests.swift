import Foundation
import GuestSupport
import Subprocess
import SystemPackage
import Testing
@testable import Libvirt

/// `vm` does not link libvirt; a command on a libvirt-backed VM continues in `vm-libvirt`, the
/// same command tree with libvirt linked. These run the built executables, against the real daemon.
@Suite(.serialized) struct CommandLineHandOffTests {
    struct Outcome {
        var status: TerminationStatus
        var output: String
        var error: String
    }

    static func run(_ executable: String, _ arguments: [String], in scratch: Scratch) async throws -> Outcome {
        let result = try await Subprocess.run(.path(FilePath(executable)), arguments: Arguments(arguments), environment: scratch.environment,
                                              output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        return Outcome(status: result.terminationStatus, output: result.standardOutput, error: result.standardError)
    }

    static func sharedLibraries(of executable: String) async throws -> String {
        let result = try await Subprocess.run(.name("ldd"), arguments: [executable], output: .string(limit: 1 << 20), error: .discarded)
        return result.standardOutput
    }

    @Test func onlyVMLibvirtLinksLibvirt() async throws {
        #expect(try await !Self.sharedLibraries(of: BuiltExecutable.path("vm")).contains("libvirt"))
        #expect(try await Self.sharedLibraries(of: BuiltExecutable.path("vm-libvirt")).contains("libvirt.so"))
    }

    /// A test-bed VM named PREFIX-random with `backend = "libvirt"` at qemu:///system in a scratch
    /// folder; its domain is destroyed and undefined after `body`.
    static func withLibvirtBackedVM(prefix: String, _ body: (Scratch, String) async throws -> Void) async throws {
        _ = try await LibvirtDaemon.shared.systemConnection()
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let name = "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
        _ = try scratch.define(name, bed.definition(extra: "backend = \"libvirt\"\nlibvirt_uri = \"qemu:///system\""))
        defer {
            if let domain = try? LibvirtConnection(uri: "qemu:///system").domainIfDefined(named: name) {
                try? domain.destroy()
                try? domain.undefine(nvram: .remove)
            }
        }
        try await body(scratch, name)
    }

    @Test(.timeLimit(.minutes(5)))
    func libvirtBackedVMThroughTheVMExecutable() async throws {
        try await Self.withLibvirtBackedVM(prefix: "vmh") { scratch, name in try await Self.upStatusQMPDown(scratch, name) }
    }

    private static func upStatusQMPDown(_ scratch: Scratch, _ name: String) async throws {
        let vm = try BuiltExecutable.path("vm")

        let up = try await Self.run(vm, ["up", name, "--paused"], in: scratch)
        #expect(up.status == .exited(0), "\(up.error)")
        #expect(up.output.contains("libvirt: domain \(name) at qemu:///system"))
        #expect(try LibvirtConnection(uri: "qemu:///system").domain(named: name).state() == .paused)

        let status = try await Self.run(vm, ["status", name], in: scratch)
        #expect(status.output.hasPrefix("\(name): paused"), "\(status.output)\(status.error)")
        let qmp = try await Self.run(vm, ["qmp", name, "query-status"], in: scratch)
        #expect(qmp.status == .exited(0), "\(qmp.error)")
        #expect(qmp.output.contains("prelaunch") || qmp.output.contains("paused"), "\(qmp.output)")
        // The definition's path names the VM as well as its name does.
        let byPath = try await Self.run(vm, ["qmp", "\(scratch.root)/d/\(name).toml", "query-status"], in: scratch)
        #expect(byPath.status == .exited(0), "\(byPath.error)")
        #expect(byPath.output == qmp.output)

        let down = try await Self.run(vm, ["down", name, "--force"], in: scratch)
        #expect(down.status == .exited(5), "libvirt destroyed it: \(down.output)\(down.error)")
        #expect(try LibvirtConnection(uri: "qemu:///system").domain(named: name).state() == .shutOff)
    }

    /// A definition that says qemu (no `backend` key) started on libvirt with `--backend libvirt`:
    /// `vm status`, `list`, `gpu recover`, `resume`, `reboot`, `pause` and `down` find it there without
    /// `--backend`, and say so; `rm` and `snapshot` are refused there and say where it runs.
    @Test(.timeLimit(.minutes(5)))
    func verbsFindALibvirtRunVMWhoseDefinitionSaysQEMU() async throws {
        _ = try await LibvirtDaemon.shared.systemConnection()
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let name = "vmh-\(UUID().uuidString.prefix(8).lowercased())"
        _ = try scratch.define(name, bed.definition())
        defer {
            if let domain = try? LibvirtConnection(uri: "qemu:///system").domainIfDefined(named: name) {
                try? domain.destroy()
                try? domain.undefine(nvram: .remove)
            }
        }
        let vm = try BuiltExecutable.path("vm")
        let elsewhere = "runs as the libvirt domain \(name) at qemu:///system, although its definition says backend = \"qemu\""

        let before = try await Self.run(vm, ["status", name], in: scratch)
        #expect(before.output.hasPrefix("\(name): stopped"), "\(before.output)\(before.error)")
        #expect(!before.output.contains("libvirt"), "a stopped VM is where its definition says")

        let up = try await Self.run(vm, ["up", name, "--backend", "libvirt", "--paused"], in: scratch)
        #expect(up.status == .exited(0), "\(up.error)")

        // `vm up` on the definition's backend is refused: the look for libvirt's QEMU that `vm up`
        // takes while it parses its command line (UpReadAhead) finds the domain's.
        let second = try await Self.run(vm, ["up", name, "--paused"], in: scratch)
        #expect(second.status == .exited(1), "\(second.output)\(second.error)")
        #expect(second.error.contains("\(name) already runs on the libvirt backend (its QEMU has pid "), "\(second.error)")
        #expect(Scratch.qemuProcesses(named: name).isEmpty, "vm started no QEMU of its own")

        let status = try await Self.run(vm, ["status", name], in: scratch)
        #expect(status.status == .exited(0), "\(status.error)")
        #expect(status.output.hasPrefix("\(name): paused"), "\(status.output)\(status.error)")
        #expect(status.output.contains("libvirt:      qemu:///system"), "\(status.output)")
        #expect(status.output.contains(elsewhere), "\(status.output)")

        let list = try await Self.run(vm, ["list", "--json"], in: scratch)
        #expect(list.output.contains("\"backend\" : \"libvirt qemu:///system\""), "\(list.output)")
        #expect(list.output.contains("\"state\" : \"paused\""), "\(list.output)")

        let recover = try await Self.run(vm, ["gpu", "recover", name], in: scratch)
        #expect(recover.status == .exited(0), "\(recover.error)")
        #expect(recover.output.contains(elsewhere) && recover.output.contains("nothing to recover"), "\(recover.output)")

        let domain = try LibvirtConnection(uri: "qemu:///system").domain(named: name)
        let resume = try await Self.run(vm, ["resume", name], in: scratch)
        #expect(resume.status == .exited(0) && resume.output.contains(elsewhere), "\(resume.output)\(resume.error)")
        #expect(try domain.state() == .running)
        let reboot = try await Self.run(vm, ["reboot", name], in: scratch)
        #expect(reboot.status == .exited(0) && reboot.output.contains(elsewhere), "\(reboot.output)\(reboot.error)")
        let pause = try await Self.run(vm, ["pause", name], in: scratch)
        #expect(pause.status == .exited(0) && pause.output.contains(elsewhere), "\(pause.output)\(pause.error)")
        #expect(try domain.state() == .paused)

        let refusal = "\(name) is paused on libvirt qemu:///system; `vm down \(name)` stops it"
        let rm = try await Self.run(vm, ["rm", name, "--yes"], in: scratch)
        #expect(rm.status == .exited(1) && rm.error.contains(refusal), "\(rm.output)\(rm.error)")
        #expect(FileManager.default.fileExists(atPath: "\(scratch.root)/d/\(name).toml"), "rm deleted nothing")
        let snapshot = try await Self.run(vm, ["snapshot", name, "list"], in: scratch)
        #expect(snapshot.status == .exited(1) && snapshot.error.contains("\(name) is paused on libvirt qemu:///system"),
                "\(snapshot.output)\(snapshot.error)")

        let down = try await Self.run(vm, ["down", name, "--force"], in: scratch)
        #expect(down.status == .exited(5), "libvirt destroyed it: \(down.output)\(down.error)")
        #expect(down.output.contains(elsewhere), "\(down.output)")
        #expect(try LibvirtConnection(uri: "qemu:///system").domain(named: name).state() == .shutOff)

        let after = try await Self.run(vm, ["status", name], in: scratch)
        #expect(after.output.hasPrefix("\(name): stopped"), "\(after.output)\(after.error)")
        #expect(!after.output.contains("libvirt"), "\(after.output)")
    }

    /// The other way round: a libvirt-backed definition started on the QEMU backend is found
    /// there by `vm status`, `rm` (refused), `resume`, `pause` and `vm down` without `--backend` (from
    /// its run record).
    @Test(.timeLimit(.minutes(5)))
    func verbsFindAQEMURunVMWhoseDefinitionSaysLibvirt() async throws {
        try await Self.withLibvirtBackedVM(prefix: "vmh") { scratch, name in
            let vm = try BuiltExecutable.path("vm")
            let elsewhere = "runs on the QEMU backend (vm's own QEMU), although its definition says backend = \"libvirt\""
            let up = try await Self.run(vm, ["up", name, "--backend", "qemu", "--paused"], in: scratch)
            #expect(up.status == .exited(0), "\(up.output)\(up.error)")
            defer { _ = Scratch.qemuProcesses(named: name).map { kill($0, SIGKILL) } }

            let status = try await Self.run(vm, ["status", name], in: scratch)
            #expect(status.output.hasPrefix("\(name): paused"), "\(status.output)\(status.error)")
            #expect(status.output.contains(elsewhere), "\(status.output)")
            #expect(!status.output.contains("libvirt:      "), "\(status.output)")

            let rm = try await Self.run(vm, ["rm", name, "--yes"], in: scratch)
            #expect(rm.status == .exited(1) && rm.error.contains("\(name) is paused on qemu; `vm down \(name)` stops it"),
                    "\(rm.output)\(rm.error)")
            #expect(FileManager.default.fileExists(atPath: "\(scratch.root)/d/\(name).toml"), "rm deleted nothing")
            let resume = try await Self.run(vm, ["resume", name], in: scratch)
            #expect(resume.status == .exited(0) && resume.output.contains(elsewhere), "\(resume.output)\(resume.error)")
            let running = try await Self.run(vm, ["status", name], in: scratch)
            #expect(running.output.hasPrefix("\(name): running"), "\(running.output)\(running.error)")
            let pause = try await Self.run(vm, ["pause", name], in: scratch)
            #expect(pause.status == .exited(0) && pause.output.contains(elsewhere), "\(pause.output)\(pause.error)")
            let paused = try await Self.run(vm, ["status", name], in: scratch)
            #expect(paused.output.hasPrefix("\(name): paused"), "\(paused.output)\(paused.error)")

            let down = try await Self.run(vm, ["down", name, "--force"], in: scratch)
            #expect(down.status == .exited(3), "QMP quit ended it: \(down.output)\(down.error)")
            #expect(down.output.contains(elsewhere), "\(down.output)")
            #expect(Scratch.qemuProcesses(named: name).isEmpty)
        }
    }

    /// `vm session run` on a libvirt-backed definition continues in `vm-libvirt` and runs the steps
    /// there; a guest-agent step of a definition without the agent says how to add it.
    @Test(.timeLimit(.minutes(5)))
    func sessionRunOnALibvirtBackedDefinition() async throws {
        try await Self.withLibvirtBackedVM(prefix: "vmh") { scratch, name in
            let file = "\(scratch.root)/play.toml"
            try """
                vm = "\(name)"
                [[step]]
                action = "up"
                paused = true
                [[step]]
                action = "exec"
                guest = ["true"]
                on_failure = "continue"
                [[step]]
                action = "down"
                force = true
                """.write(toFile: file, atomically: true, encoding: .utf8)
            let run = try await Self.run(try BuiltExecutable.path("vm"), ["session", "run", file, "--json"], in: scratch)
            #expect(run.status == .exited(1), "a step failed: \(run.output)\(run.error)")
            let lines = run.output.split(separator: "\n")
            #expect(lines.contains { $0.contains(#""status":"ok""#) && $0.contains(#""step":1"#) }, "\(run.output)")
            #expect(lines.contains { $0.contains(#""step":2"#) && $0.contains("set guest_agent = true") }, "\(run.output)")
            #expect(lines.contains { $0.contains(#""step":3"#) && $0.contains(#""message":"killed""#) }, "\(run.output)")
            #expect(try LibvirtConnection(uri: "qemu:///system").domain(named: name).state() == .shutOff)
        }
    }

    @Test func vmWithoutVMLibvirtSaysWhatToBuild() async throws {
        let scratch = try Scratch()
        let alone = "\(scratch.root)/bin/vm"
        try FileManager.default.createDirectory(atPath: "\(scratch.root)/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try BuiltExecutable.path("vm"), toPath: alone)
        let name = "lone"
        _ = try scratch.define(name, """
            accelerator = "tcg"
            [firmware]
            type = "bios"
            """)

        let qemuBacked = try await Self.run(alone, ["status", name], in: scratch)
        #expect(qemuBacked.status == .exited(0), "the QEMU backend needs no vm-libvirt: \(qemuBacked.error)")
        #expect(qemuBacked.output.hasPrefix("\(name): stopped"))

        let libvirtBacked = try await Self.run(alone, ["status", name, "--connect", "test:///default"], in: scratch)
        #expect(libvirtBacked.status == .exited(1))
        #expect(libvirtBacked.error.contains("\(scratch.root)/bin/vm-libvirt"), "\(libvirtBacked.error)")
        #expect(libvirtBacked.error.contains("swift build --product vm-libvirt"))
    }
}

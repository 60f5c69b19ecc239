import Foundation
import GuestSupport
import Testing
@testable import Libvirt

/// `vm pause|resume|reboot` and `vm rm` on a libvirt-backed VM, through `vm` (which hands over
/// to `vm-libvirt`), against the real daemon.
@Suite(.serialized) struct RunActionThroughLibvirtTests {
    @Test(.timeLimit(.minutes(5)))
    func pauseResumeAndResetADomain() async throws {
        try await CommandLineHandOffTests.withLibvirtBackedVM(prefix: "vmr") { scratch, name in try await Self.pauseResumeReset(scratch, name) }
    }

    private static func pauseResumeReset(_ scratch: Scratch, _ name: String) async throws {
        let vm = try BuiltExecutable.path("vm")
        func state() throws -> DomainState { try LibvirtConnection(uri: "qemu:///system").domain(named: name).state() }

        let up = try await CommandLineHandOffTests.run(vm, ["up", name, "--paused"], in: scratch)
        #expect(up.status == .exited(0), "\(up.error)")
        #expect(try state() == .paused)
        let resume = try await CommandLineHandOffTests.run(vm, ["resume", name], in: scratch)
        #expect(resume.status == .exited(0), "\(resume.error)")
        #expect(try state() == .running)
        let pause = try await CommandLineHandOffTests.run(vm, ["pause", name], in: scratch)
        #expect(pause.status == .exited(0), "\(pause.error)")
        #expect(try state() == .paused)
        _ = try await CommandLineHandOffTests.run(vm, ["resume", name], in: scratch)
        let reboot = try await CommandLineHandOffTests.run(vm, ["reboot", name], in: scratch)
        #expect(reboot.status == .exited(0), "\(reboot.error)")
        #expect(try state() == .running)

        let refused = try await CommandLineHandOffTests.run(vm, ["rm", name, "--yes"], in: scratch)
        #expect(refused.status == .exited(1) && refused.error.contains("is running"), "\(refused.error)")
        let down = try await CommandLineHandOffTests.run(vm, ["down", name, "--force"], in: scratch)
        #expect(down.status == .exited(5), "\(down.output)\(down.error)")

        let rm = try await CommandLineHandOffTests.run(vm, ["rm", name, "--yes"], in: scratch)
        #expect(rm.status == .exited(0), "\(rm.output)\(rm.error)")
        #expect(try LibvirtConnection(uri: "qemu:///system").domainIfDefined(named: name) == nil, "vm rm undefines the domain")
        #expect(!FileManager.default.fileExists(atPath: "\(scratch.root)/d/\(name).toml"))
    }
}

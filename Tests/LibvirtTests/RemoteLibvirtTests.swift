import Foundation
import GuestSupport
import Handover
import Testing
import VMCore
@testable import Libvirt
import LibvirtXML

/// The libvirt backend through `qemu+ssh://` for real: an sshd of the test's own on loopback,
/// with keys the test makes, in front of this machine's libvirtd, which stands in for a remote
/// host. `vm`'s side must not assume the daemon is local (no serial log in its state folder, no
/// sysfs reads for the GPU).
@Suite(.serialized) struct RemoteLibvirtTests {
    @Test(.timeLimit(.minutes(5)))
    func upStatusGPUDownOverSSH() async throws {
        let bed = try await LibvirtMachineSystemTests.setUp()
        let sshd = try LoopbackSSHD()
        defer { sshd.stop() }
        let uri = sshd.libvirtURI
        #expect(!LibvirtURI(uri).isLocal)
        let scratch = try LibvirtScratch(uri: uri)
        var spec = scratch.testBedSpec(bed)
        var gpu = Fixtures.gpu("0000:05:00", functions: [0, 1])
        gpu.plug = .hot
        spec.gpus = [gpu]
        let machine = scratch.machine(spec)
        let name = scratch.name.rawValue
        #expect(!(try machine.domainXML()).contains("<log"), "a remote host has no vm state folder for the serial log")

        let report = try await machine.up(paused: false)
        #expect(report.name == name)
        #expect(report.qemuStatus == "running")
        let status = await machine.status()
        #expect(status.state == .running)
        #expect(status.qemuStatus == "running")
        // The same daemon, seen without ssh, runs the domain.
        let local = try LibvirtConnection(uri: "qemu:///system").domain(named: name)
        #expect(try local.state() == .running)

        // The GPU path goes through libvirt's node-device API alone: no local sysfs is read (the
        // remote host has no such card, so libvirt refuses and the swap is undone).
        let host = UntouchedHostFileSystem()
        let error = await #expect(throws: HandoverError.self) { try await machine.attachGPU(0, hostFileSystem: host) }
        guard case .stepFailed(let step, _, let rolledBack, .libvirt) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(step == "node-device detach of 0000:05:00.1")
        #expect(rolledBack)
        #expect(host.touched == [])
        #expect(try !local.liveXML().contains("ua-gpu0-fn"))

        // The guest may not listen to the power button yet (no serial log to wait on remotely):
        // a polite power-off or the forced one after the timeout both stop it.
        let outcome = try await machine.down(timeout: .seconds(20))
        #expect(outcome == .poweredOff || outcome == .killed)
        #expect(try local.state() == .shutOff)
        #expect(await machine.status().state == .stopped)
    }
}

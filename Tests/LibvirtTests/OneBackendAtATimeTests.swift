import Foundation
import GuestSupport
import HostLinux
import QEMU
import Testing
import VMCore
@testable import Libvirt

/// One definition runs on one backend at a time: each backend refuses `up` while the other runs
/// it, found on this host (libvirt's QEMU in /proc, the QEMU backend's run record).
@Suite(.serialized) struct OneBackendAtATimeTests {
    @Test(.timeLimit(.minutes(5)))
    func theQEMUBackendRefusesADefinitionLibvirtRuns() async throws {
        _ = try await LibvirtDaemon.shared.systemConnection()
        let bed = try await TestBed.prepare()
        let scratch = try LibvirtScratch(uri: LibvirtMachineSystemTests.uri)
        let spec = scratch.testBedSpec(bed)
        let libvirt = scratch.machine(spec)
        let pid = try #require(try await libvirt.up(paused: true).pid)

        let qemu = QEMUMachine(spec: spec, paths: scratch.paths, launcher: try QEMULauncher.locate(),
                               passthroughProblems: { _ in [] })
        await #expect(throws: StartRefusal.runsOnOtherBackend(name: scratch.name.rawValue,
                                                               place: "on the libvirt backend (its QEMU has pid \(pid))")) {
            try await qemu.up(paused: true)
        }
        #expect(Scratch.qemuProcesses(named: scratch.name.rawValue).isEmpty, "vm started no QEMU of its own")
        #expect(try await libvirt.down(timeout: .seconds(1), force: true) == .killed)
    }

    @Test(.timeLimit(.minutes(5)))
    func libvirtRefusesADefinitionTheQEMUBackendRuns() async throws {
        _ = try await LibvirtDaemon.shared.systemConnection()
        let bed = try await TestBed.prepare()
        let scratch = try LibvirtScratch(uri: LibvirtMachineSystemTests.uri)
        let name = scratch.name.rawValue
        // A QEMU named as vm names its own, and the run record its supervisor would keep.
        let qemu = try ChildProcess([
            try QEMULauncher.locate().executable,
            "-name", "guest=\(name),process=vm-\(name)", "-machine", "none", "-S", "-display", "none", "-nodefaults",
        ])
        // SIGKILL: a QEMU started this way ignored SIGTERM here.
        defer {
            qemu.send(SIGKILL)
            _ = qemu.waitForExit(within: .seconds(10))
        }
        try PrivateDirectory.make(scratch.paths.stateDirectory)
        try RunRecordStore(path: scratch.paths.runRecord, vm: name).write(
            RunRecord(vm: name, backend: "qemu", qemuPID: qemu.pid, supervisorPID: getpid(), startedAt: Date(), fingerprint: "0"))

        await #expect(throws: StartRefusal.runsOnOtherBackend(name: name, place: "on the QEMU backend (vm's own QEMU, pid \(qemu.pid))")) {
            try await scratch.machine(scratch.testBedSpec(bed)).up(paused: true)
        }
        #expect(try scratch.connection.domainIfDefined(named: name) == nil, "nothing was defined")
    }
}

import Foundation
import GuestSupport
import HostLinux
import HostLinuxFakes
import Synchronization
import Testing
import VMCore
@testable import QEMU

/// `[[gpu]] host = "release"` around `vm up`, `vm gpu recover` and the way back, on a fake
/// single-GPU desktop (this machine's own sysfs and services are never touched): the desktop
/// must come back whoever ends the run.
@Suite(.serialized)
struct HostReleaseLifecycleTests {
    static let gpu = """
        [[gpu]]
        functions = ["0000:01:00.0", "0000:01:00.1"]
        host = "release"
        unload_nvidia = true
        holder_timeout = 1
        """

    /// A machine for `name` whose host is `desktop`.
    func machine(_ scratch: Scratch, _ name: String, on desktop: SingleGPUDesktop, runner: (any HostCommandRunner)? = nil,
                 definition: String) throws -> (QEMUMachine, LoadedDefinition) {
        let loaded = try scratch.define(name, definition)
        var machine = try scratch.machine(loaded)
        machine.hostFileSystem = desktop.kernel
        machine.releaseCommands = runner ?? desktop.runner
        return (machine, loaded)
    }

    @Test("a start that fails after the release gives the desktop back and leaves no journal")
    func failedStartGivesTheDesktopBack() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let desktop = try SingleGPUDesktop()
        let before = try desktop.facts()
        // QEMU cannot open the fake card's VFIO group here: the start fails after the release.
        let (machine, loaded) = try machine(scratch, "solo", on: desktop, definition: bed.definition(extra: Self.gpu))
        await #expect(throws: UpError.self) { _ = try await machine.up() }
        #expect(desktop.runner.commands.first == ["systemctl", "stop", "gdm3.service"])
        #expect(desktop.runner.commands.contains(["modprobe", "-r", "nvidia"]), "the release went as far as the launch")
        #expect(desktop.runner.commands.last == ["systemctl", "start", "gdm3.service"])
        #expect(try desktop.facts() == before)
        #expect(desktop.desktopRuns)
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.hostReleaseJournal))
        #expect(Scratch.qemuProcesses(named: "solo").isEmpty)
    }

    @Test("a holder that does not let go stops vm up before anything but the desktop changed")
    func holderStopsTheStart() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let desktop = try SingleGPUDesktop(stubborn: [(1400, "steam", ["/dev/nvidia0"])])
        let before = try desktop.facts()
        let (machine, loaded) = try machine(scratch, "held", on: desktop, definition: bed.definition(extra: Self.gpu))
        await #expect(throws: ReleaseError.held([DeviceHolder(pid: 1400, command: "steam", deviceNode: "/dev/nvidia0")], seconds: 1, forced: false)) {
            _ = try await machine.up()
        }
        #expect(desktop.runner.commands == [["systemctl", "stop", "gdm3.service"], ["systemctl", "start", "gdm3.service"]])
        #expect(try desktop.facts() == before)
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.hostReleaseJournal))
        #expect(Scratch.qemuProcesses(named: "held").isEmpty)
    }

    @Test("after a crash of everything mid-release, vm gpu recover gives the desktop back from the journal")
    func recoverAfterACrash() async throws {
        let scratch = try Scratch()
        let desktop = try SingleGPUDesktop()
        let before = try desktop.facts()
        let (machine, loaded) = try machine(scratch, "crash", on: desktop, definition: Self.gpu)
        try PrivateDirectory.make(loaded.paths.stateDirectory)
        // vm up's release, killed before its fifth step (the first module unload).
        let plan = try #require(try machine.releasePlan())
        let record = machine.hostReleaseRecord
        let root = desktop.kernel.root
        await #expect(throws: ReleaseInterrupted.self) {
            try await HostReleaser(vm: "solo", fileSystem: desktop.kernel, runner: desktop.runner).release(plan, slot: SingleGPUDesktop.slot, force: false) { steps in
                try record.save(HostReleaseJournal(gpu: 0, steps: steps), root: root)
                if steps.count == 5 { throw ReleaseInterrupted() }
            }
        }
        #expect(try desktop.facts().vtConsoles[1].bound == false)
        #expect(!desktop.desktopRuns)
        let done = try await machine.recoverGPU()
        #expect(done.suffix(3) == ["bind efi-framebuffer.0 to efi-framebuffer again", "bind virtual console vtcon1 again",
                                   "start the desktop: systemctl start gdm3.service"])
        #expect(try desktop.facts() == before)
        #expect(desktop.desktopRuns)
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.hostReleaseJournal))
    }

    @Test("a step of the way back that keeps failing is reported and stays in the journal for vm gpu recover")
    func failedRestoreStaysJournaled() async throws {
        let scratch = try Scratch()
        let desktop = try SingleGPUDesktop()
        let broken = DesktopWillNotStart(inner: desktop.runner, failures: 2)
        let (machine, loaded) = try machine(scratch, "stuck", on: desktop, runner: broken,
                                            definition: Self.gpu)
        try PrivateDirectory.make(loaded.paths.stateDirectory)
        try await machine.releaseHostDisplay(force: false)
        #expect(try desktop.facts().functions.map(\.driver) == ["vfio-pci", "vfio-pci"])
        #expect(FileManager.default.fileExists(atPath: loaded.paths.hostReleaseJournal))

        // The run ends: everything comes back but the desktop, which fails twice (tried twice).
        do {
            try machine.undoHostChanges()
            Issue.record("a desktop that did not start went unreported")
        } catch let ReleaseError.restoreFailed(failures, vm) {
            #expect(vm == "stuck")
            #expect(failures == ["start the desktop: systemctl start gdm3.service: systemctl start gdm3.service: exited with status 1: gdm3 failed"])
        }
        #expect(try desktop.facts().functions.map(\.driver) == ["nvidia", "snd_hda_intel"])
        #expect(!desktop.desktopRuns)
        let left = try #require(FileManager.default.contents(atPath: loaded.paths.hostReleaseJournal))
        #expect(String(decoding: left, as: UTF8.self).contains("stopDisplayManager") && !String(decoding: left, as: UTF8.self).contains("bindToVFIO"))

        #expect(try await machine.recoverGPU().last == "start the desktop: systemctl start gdm3.service")
        #expect(desktop.desktopRuns)
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.hostReleaseJournal))
    }
}

/// Fails `systemctl start` the first `failures` times, then passes every command to `inner`.
private final class DesktopWillNotStart: HostCommandRunner, Sendable {
    let inner: RecordingRunner
    private let left: Mutex<Int>

    init(inner: RecordingRunner, failures: Int) {
        self.inner = inner
        left = Mutex(failures)
    }

    func run(_ arguments: [String], timeout: Duration) throws -> CommandResult {
        if arguments.starts(with: ["systemctl", "start"]), left.withLock({ left in
            defer { left -= 1 }
            return left > 0
        }) {
            return CommandResult(status: 1, standardOutput: "", standardError: "gdm3 failed\n")
        }
        return try inner.run(arguments, timeout: timeout)
    }
}

import Foundation
import GuestSupport
import Handover
import HostLinux
import HostLinuxFakes
import QMP
import Synchronization
import Testing
import VMCore
@testable import QEMU

/// `[[gpu]] plug = "hot"` with `host = "release"` on a fake single-GPU desktop (its sysfs, its
/// programs through the command-runner seam) and a fake QMP monitor: `vm gpu attach` releases the
/// host's display GPU before anything reaches the guest, `vm gpu detach` and every end of the run
/// give it back in reverse order, and a kill at any journaled step is recovered.
/// The same code on a real kernel: RealKernelReleaseTests (`hot*` phases).
@Suite(.serialized)
struct HotReleaseTests {
    static let gpu = """
        [[gpu]]
        functions = ["0000:01:00.0", "0000:01:00.1"]
        plug = "hot"
        host = "release"
        unload_nvidia = true
        holder_timeout = 1
        """

    /// A VM whose host is a fake desktop, a fake monitor standing in for its running QEMU.
    struct Rig {
        let scratch: Scratch
        let desktop: SingleGPUDesktop
        let before: HostDisplayFacts
        let loaded: LoadedDefinition
        var machine: QEMUMachine
        let monitor: FakeQMPServer

        init(_ name: String, gpu: String = HotReleaseTests.gpu, desktop: SingleGPUDesktop? = nil) throws {
            scratch = try Scratch()
            self.desktop = try desktop ?? SingleGPUDesktop()
            before = try self.desktop.facts()
            loaded = try scratch.define(name, gpu)
            machine = try scratch.machine(loaded)
            machine.hostFileSystem = self.desktop.kernel
            machine.releaseCommands = self.desktop.runner
            try PrivateDirectory.make(loaded.paths.stateDirectory)
            monitor = try FakeQMPServer(path: scratch.root + "/qmp.sock")
        }

        func client() async throws -> QMPClient { try await QMPClient.connect(path: monitor.path) }

        /// The swapper, stopped as a killed process would be at its `stopAt`th journaled step.
        func swapper(stopAt: Int? = nil) -> GPUSwapper {
            var swapper = machine.swapper()
            swapper.unplugTimeout = .seconds(5)
            if let stopAt {
                let count = Mutex(0)
                swapper.checkpoint = { phase, detail in
                    let reached = count.withLock { count in
                        count += 1
                        return count == stopAt
                    }
                    if reached { throw SwapInterrupted(phase: phase, detail: detail) }
                }
            }
            return swapper
        }

        var journals: (release: Bool, swap: Bool) {
            (FileManager.default.fileExists(atPath: loaded.paths.hostReleaseJournal), FileManager.default.fileExists(atPath: loaded.paths.journalFile))
        }

        /// The host as before the attach: every sysfs fact, the desktop, no journal.
        func expectHostAsBefore(_ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
            #expect(try desktop.facts() == before, comment, sourceLocation: sourceLocation)
            #expect(desktop.desktopRuns, comment, sourceLocation: sourceLocation)
            #expect(!journals.release && !journals.swap, comment, sourceLocation: sourceLocation)
        }
    }

    @Test("attach releases the host first (desktop, holders, console, framebuffer, modules, vfio-pci), then plugs; detach unplugs, then gives everything back in reverse")
    func attachThenDetach() async throws {
        let rig = try Rig("hot")
        defer { rig.monitor.close() }
        let client = try await rig.client()
        let plan = try #require(try rig.machine.releasePlan())

        let report = try await rig.machine.attach(gpu: 0, client: client, force: false, swapper: rig.swapper())
        #expect(rig.desktop.runner.commands == [["systemctl", "stop", "gdm3.service"], ["modprobe", "-r", "nvidia_drm"],
                                                ["modprobe", "-r", "nvidia_modeset"], ["modprobe", "-r", "nvidia_uvm"], ["modprobe", "-r", "nvidia"]])
        // The release's steps, then the swap's: the card was on vfio-pci before any device_add.
        #expect(Array(report.steps.prefix(plan.steps.count)) == plan.steps.map(\.summary))
        #expect(report.steps.suffix(4) == ["0000:01:00.0: on vfio-pci already", "0000:01:00.1: on vfio-pci already",
                                           "device_add gpu0-f1 (vfio-pci)", "device_add gpu0-f0 (vfio-pci)"])
        let released = try rig.desktop.facts()
        #expect(released.functions.map(\.driver) == ["vfio-pci", "vfio-pci"])
        #expect(released.vtConsoles[1].bound == false && released.framebuffers.isEmpty && released.loadedModules.isEmpty)
        #expect(!rig.desktop.desktopRuns)
        #expect(rig.monitor.devices == ["gpu0-f1", "gpu0-f0"])
        #expect(rig.journals == (true, true))
        #expect(try rig.machine.swapper().journal.read()?.phase == .inGuest)

        let back = try await rig.machine.detach(gpu: 0, client: client, swapper: rig.swapper())
        #expect(rig.monitor.devices.isEmpty)
        #expect(rig.desktop.runner.commands.suffix(5) == [["modprobe", "nvidia"], ["modprobe", "nvidia_uvm"], ["modprobe", "nvidia_modeset"],
                                                          ["modprobe", "nvidia_drm"], ["systemctl", "start", "gdm3.service"]])
        #expect(back.steps.suffix(plan.wayBack.count) == ArraySlice(plan.wayBack))
        try rig.expectHostAsBefore()
    }

    @Test("--dry-run prints the release, the hand-over and the way back, and changes nothing")
    func dryRun() async throws {
        let rig = try Rig("plan")
        defer { rig.monitor.close() }
        let attach = try rig.machine.plan(attach: 0)
        #expect(attach.prefix(3) == ["release the host's display GPU:", "1. stop the desktop: systemctl stop gdm3.service",
                                     "2. wait up to 1 s for processes to close the card's device nodes (refuse and name them if they do not)"])
        #expect(attach.contains { $0.hasPrefix("given back at vm gpu detach or the end of the run: give 0000:01:00.1 back to snd_hda_intel") })
        let swap = try #require(attach.firstIndex(of: "then hand it to the guest:"), "\(attach)")
        let plugs = attach[(swap + 1)...]
        #expect(plugs.count == 3, "\(attach)")
        #expect(plugs.first?.hasPrefix("device_add vfio-pci,host=0000:01:00.1") == true, "\(attach)")
        #expect(plugs.dropFirst().first?.hasPrefix("device_add vfio-pci,host=0000:01:00.0") == true, "\(attach)")
        #expect(plugs.last?.hasPrefix("check that QEMU has") == true, "\(attach)")
        #expect(!attach.contains { $0.contains("driver_override") }, "the release binds to vfio-pci, not the swap")
        let detach = try rig.machine.plan(detach: 0)
        #expect(detach.first == "device_del gpu0-f0 (function 0: the guest releases the whole slot)")
        #expect(detach.last == "start the desktop: systemctl start gdm3.service")
        #expect(rig.desktop.runner.commands.isEmpty)
        try rig.expectHostAsBefore()
    }

    @Test("a process that will not let go stops the attach before anything reaches the guest; the desktop comes back")
    func holderRefusesTheAttach() async throws {
        let rig = try Rig("held", desktop: try SingleGPUDesktop(stubborn: [(1400, "steam", ["/dev/nvidia0"])]))
        defer { rig.monitor.close() }
        let client = try await rig.client()
        await #expect(throws: ReleaseError.held([DeviceHolder(pid: 1400, command: "steam", deviceNode: "/dev/nvidia0")], seconds: 1, forced: false)) {
            _ = try await rig.machine.attach(gpu: 0, client: client, force: false, swapper: rig.swapper())
        }
        #expect(rig.desktop.runner.commands == [["systemctl", "stop", "gdm3.service"], ["systemctl", "start", "gdm3.service"]])
        #expect(!rig.monitor.log.contains { $0.hasPrefix("device_add") })
        try rig.expectHostAsBefore()
    }

    @Test("a device_add that fails after the release unplugs what went in and gives the desktop back")
    func failedPlugGivesTheDesktopBack() async throws {
        let rig = try Rig("refused")
        defer { rig.monitor.close() }
        rig.monitor.refuseDeviceAdd("gpu0-f0")
        let client = try await rig.client()
        await #expect(throws: HandoverError.self) {
            _ = try await rig.machine.attach(gpu: 0, client: client, force: false, swapper: rig.swapper())
        }
        #expect(rig.monitor.devices.isEmpty, "function 1 went in before function 0 failed: it is unplugged")
        #expect(rig.desktop.runner.commands.last == ["systemctl", "start", "gdm3.service"])
        try rig.expectHostAsBefore()
    }

    @Test("the VM ends while the card is in it: the supervisor's teardown (swap journal, then release journal) gives it back; --keep-gpu-on-vfio leaves it for vm gpu recover")
    func endOfTheRunGivesItBack() async throws {
        for keep in [false, true] {
            let rig = try Rig(keep ? "kept" : "ended")
            defer { rig.monitor.close() }
            let client = try await rig.client()
            _ = try await rig.machine.attach(gpu: 0, client: client, force: false, swapper: rig.swapper())
            client.close()
            // What VMSupervisor.finish does once QEMU is gone (the fake monitor stands for it: no client).
            if !keep { try await rig.machine.returnGPUsLeftBehind() }
            try rig.machine.undoHostChanges(keepingGPUOnVFIO: keep)
            if keep {
                #expect(try rig.desktop.facts().functions.map(\.driver) == ["vfio-pci", "vfio-pci"])
                #expect(!rig.desktop.desktopRuns)
                let done = try await rig.machine.recoverGPU()
                #expect(done.last == "start the desktop: systemctl start gdm3.service")
            }
            try rig.expectHostAsBefore(keep ? "--keep-gpu-on-vfio, then vm gpu recover" : "teardown")
        }
    }

    @Test("killed at each step of the release: vm gpu recover with the VM running gives everything back")
    func killedDuringTheRelease() async throws {
        let steps = try #require(try Rig("count").machine.releasePlan()).steps.count
        for stop in 1...steps {
            let rig = try Rig("k\(stop)")
            defer { rig.monitor.close() }
            let plan = try #require(try rig.machine.releasePlan())
            let record = rig.machine.hostReleaseRecord
            let root = rig.desktop.kernel.root
            await #expect(throws: ReleaseInterrupted.self) {
                try await HostReleaser(vm: "k\(stop)", fileSystem: rig.desktop.kernel, runner: rig.desktop.runner).release(plan, slot: SingleGPUDesktop.slot, force: false) { begun in
                    try record.save(HostReleaseJournal(gpu: 0, steps: begun), root: root)
                    if begun.count == stop { throw ReleaseInterrupted() }
                }
            }
            let client = try await rig.client()
            _ = try await rig.machine.recover(client: client, swapper: rig.swapper())
            try rig.expectHostAsBefore("killed before step \(stop)")
        }
    }

    @Test("killed at each journaled step of the hand-over: vm gpu recover gives everything back, with the VM running or gone")
    func killedDuringTheSwap() async throws {
        // binding ×2 (on vfio-pci already), plugging ×2, in-guest.
        for stop in 1...5 {
            for running in [true, false] {
                let rig = try Rig("s\(stop)\(running ? "r" : "g")")
                defer { rig.monitor.close() }
                let client = try await rig.client()
                await #expect(throws: SwapInterrupted.self) {
                    _ = try await rig.machine.attach(gpu: 0, client: client, force: false, swapper: rig.swapper(stopAt: stop))
                }
                #expect(rig.journals.release, "the release stays journaled")
                let done = try await rig.machine.recover(client: running ? client : nil, swapper: rig.swapper())
                if running && stop == 5 {
                    // Killed after the card was recorded in the guest: it stays there until detached.
                    #expect(done == ["gpu[0] is in the guest as recorded; nothing to recover (`vm gpu detach` takes it back)"])
                    _ = try await rig.machine.detach(gpu: 0, client: client, swapper: rig.swapper())
                }
                if running { #expect(rig.monitor.devices.isEmpty, "stop \(stop)") }
                try rig.expectHostAsBefore("killed at checkpoint \(stop), VM \(running ? "running" : "gone")")
            }
        }
    }

    @Test("a configured systemd unit: the releaser runs systemctl stop/start UNIT as argument arrays, whatever display-manager.service says")
    func configuredUnit() async throws {
        let desktop = try SingleGPUDesktop()
        // No display-manager.service link: only the definition names the unit.
        try desktop.tree.remove("/etc/systemd/system/display-manager.service")
        let rig = try Rig("unit", gpu: Self.gpu + "\ndisplay_manager = \"gdm3.service\"\n", desktop: desktop)
        defer { rig.monitor.close() }
        #expect(try rig.machine.releasePlan()?.steps.first == .stopDisplayManager(.unit("gdm3.service")))
        let client = try await rig.client()
        _ = try await rig.machine.attach(gpu: 0, client: client, force: false, swapper: rig.swapper())
        #expect(rig.desktop.runner.commands.first == ["systemctl", "stop", "gdm3.service"])
        #expect(!rig.desktop.desktopRuns)
        _ = try await rig.machine.detach(gpu: 0, client: client, swapper: rig.swapper())
        #expect(rig.desktop.runner.commands.last == ["systemctl", "start", "gdm3.service"])
        #expect(rig.desktop.runner.commands.filter { $0.first == "systemctl" }.count == 2)
        #expect(try rig.desktop.facts().functions.map(\.driver) == rig.before.functions.map(\.driver))
        #expect(rig.desktop.desktopRuns)
    }

    @Test("vm up leaves a hot display GPU to the host: only vm gpu attach releases it")
    func upDoesNotRelease() throws {
        let rig = try Rig("up")
        defer { rig.monitor.close() }
        #expect(!rig.machine.releasesAtStart)
        #expect(rig.machine.releasesOnAttach(0))
    }
}

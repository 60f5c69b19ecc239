import Foundation
import Handover
import HostLinux
import HostLinuxFakes
import Logging
import QMP
import Testing
import VMCore
@testable import QEMU

/// The hand-over of an NVIDIA pair on a fake host (fake sysfs with a fake kernel reacting to
/// driver_override/unbind/drivers_probe) and a fake QMP monitor: the host states and faults this
/// machine cannot have. The QMP half against real QEMU is in HotSwapGuestTests.
struct HotSwapHostTests {
    static let display = PCIAddress("0000:05:00.0")!
    static let audio = PCIAddress("0000:05:00.1")!

    /// A fake host with two identical 3090 Ti, a journal folder and a fake monitor.
    struct Rig {
        let tree: FakeHostTree
        let kernel: FakeKernel
        let monitor: FakeQMPServer
        let swapper: GPUSwapper

        init(checkpoint: @escaping @Sendable (SwapJournal.Phase, String) throws -> Void = { _, _ in }) throws {
            tree = try Scenarios.twoIdentical3090Ti()
            kernel = FakeKernel(tree: tree)
            monitor = try FakeQMPServer(path: tree.rootPath + "/qmp.sock")
            var spec = VMSpec(name: try VMName("nv"))
            var gpu = GPUPassthrough(slot: PCISlot("0000:05:00"), functions: [HotSwapHostTests.display, HotSwapHostTests.audio])
            gpu.plug = .hot
            spec.gpus = [gpu]
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            var swapper = GPUSwapper(spec: spec, journal: SwapJournalStore(path: tree.rootPath + "/journal.json"),
                                     fileSystem: kernel, logger: logger)
            swapper.binder = DriverBinder(fileSystem: kernel, unbindTimeout: .milliseconds(300), probeTimeout: .milliseconds(200))
            swapper.unplugTimeout = .seconds(5)
            swapper.checkpoint = checkpoint
            self.swapper = swapper
        }

        func client() async throws -> QMPClient { try await QMPClient.connect(path: monitor.path) }
        func driver(_ address: PCIAddress) -> String? { swapper.binder.currentDriver(address) }
        var onOriginalDrivers: Bool { driver(display) == "nvidia" && driver(audio) == "snd_hda_intel" }
    }

    @Test func attachBindsBothFunctionsAndPlugsFunctionZeroLast() async throws {
        let rig = try Rig()
        defer { rig.monitor.close() }
        let client = try await rig.client()
        let report = try await rig.swapper.attach(gpu: 0, client: client)
        #expect(rig.driver(Self.display) == "vfio-pci" && rig.driver(Self.audio) == "vfio-pci")
        #expect(rig.driver(PCIAddress("0000:01:00.0")!) == "nvidia", "the identical host card is untouched")
        #expect(rig.monitor.log.filter { $0.hasPrefix("device_add") } == [
            #"device_add {"addr":"0.1","bus":"rp-gpu0","driver":"vfio-pci","host":"0000:05:00.1","id":"gpu0-f1"}"#,
            #"device_add {"addr":"0.0","bus":"rp-gpu0","driver":"vfio-pci","host":"0000:05:00.0","id":"gpu0-f0","multifunction":true}"#,
        ])
        #expect(report.steps.first == "0000:05:00.0: nvidia -> vfio-pci")
        let journal = try #require(try rig.swapper.journal.read())
        #expect(journal.phase == .inGuest)
        #expect(journal.originals.map(\.originalDriver) == ["nvidia", "snd_hda_intel"])

        let back = try await rig.swapper.detach(gpu: 0, client: client)
        #expect(rig.onOriginalDrivers)
        #expect(rig.monitor.devices.isEmpty)
        #expect(rig.monitor.log.filter { $0.hasPrefix("device_del") } == [#"device_del {"id":"gpu0-f0"}"#])
        #expect(back.steps.last == "0000:05:00.1: vfio-pci -> snd_hda_intel")
        #expect(try rig.swapper.journal.read() == nil)
    }

    @Test func aHostProcessHoldingTheCardStopsTheAttach() async throws {
        let rig = try Rig()
        defer { rig.monitor.close() }
        try rig.tree.file("/dev/nvidia0", "")
        try rig.tree.process(4242, command: "Xorg", openFiles: ["/dev/nvidia0"])
        let client = try await rig.client()
        do {
            _ = try await rig.swapper.attach(gpu: 0, client: client)
            Issue.record("attach should have been refused")
        } catch let error as HandoverError {
            #expect(error.description.contains("4242 Xorg (/dev/nvidia0)"))
        }
        #expect(rig.onOriginalDrivers)
        #expect(try rig.swapper.journal.read() == nil)
        #expect(rig.monitor.devices.isEmpty)
    }

    @Test func aBlockedUnbindTimesOutAndIsRolledBack() async throws {
        let rig = try Rig()
        defer { rig.monitor.close(); rig.kernel.releaseBlockedUnbinds() }
        rig.kernel.blockUnbind(of: "0000:05:00.1")
        let client = try await rig.client()
        do {
            _ = try await rig.swapper.attach(gpu: 0, client: client)
            Issue.record("attach should have failed")
        } catch let HandoverError.stepFailed(step, reason, rolledBack, _) {
            #expect(step == "binding 0000:05:00.1 to vfio-pci")
            #expect(reason.contains("did not finish within 0.3 s"))
            #expect(rolledBack)
        }
        #expect(rig.driver(Self.display) == "nvidia", "the function already moved went back")
        #expect(try rig.swapper.journal.read() == nil)
    }

    @Test func aFunctionThatRefusesToRebindKeepsTheJournalUntilRecover() async throws {
        let rig = try Rig()
        defer { rig.monitor.close() }
        let client = try await rig.client()
        _ = try await rig.swapper.attach(gpu: 0, client: client)
        rig.kernel.refuseBind(of: "0000:05:00.1")
        await #expect(throws: BindError.self) { try await rig.swapper.detach(gpu: 0, client: client) }
        #expect(try rig.swapper.journal.read()?.phase == .returningToHost)
        #expect(rig.monitor.devices.isEmpty, "the guest already let go")
        // Once the driver binds again, recover finishes the job.
        rig.kernel.allowBind(of: "0000:05:00.1")
        _ = try await rig.swapper.recover(client: client)
        #expect(rig.onOriginalDrivers)
        #expect(try rig.swapper.journal.read() == nil)
    }

    /// Every checkpoint of an attach followed by a detach, as (phase, detail).
    static let checkpoints: [(SwapJournal.Phase, String)] = [
        (.bindingToVFIO, "0000:05:00.0"), (.bindingToVFIO, "0000:05:00.1"), (.plugging, "gpu0-f1"), (.plugging, "gpu0-f0"),
        (.inGuest, "done"), (.unplugging, "gpu0-f1,gpu0-f0"), (.returningToHost, "0000:05:00.0"), (.returningToHost, "0000:05:00.1"),
    ]

    /// Killed at any journal step, with the VM still running or gone, `recover` (plus a detach
    /// when the GPU was fully in the guest) ends with every function on its original driver.
    @Test(arguments: checkpoints.indices, [true, false])
    func killedAtEveryStepRecoverRestoresTheHost(index: Int, vmStillRunning: Bool) async throws {
        let (phase, detail) = Self.checkpoints[index]
        let rig = try Rig(checkpoint: { at, what in
            if at == phase, what == detail { throw SwapInterrupted(phase: at, detail: what) }
        })
        defer { rig.monitor.close() }
        let client = try await rig.client()
        do {
            _ = try await rig.swapper.attach(gpu: 0, client: client)
            _ = try await rig.swapper.detach(gpu: 0, client: client)
            Issue.record("the checkpoint \(phase) \(detail) was never reached")
        } catch is SwapInterrupted {}
        #expect(try rig.swapper.journal.read() != nil)

        var clean = rig.swapper
        clean.checkpoint = { _, _ in }
        if vmStillRunning {
            _ = try await clean.recover(client: client)
            if try clean.journal.read()?.phase == .inGuest {
                _ = try await clean.detach(gpu: 0, client: client)
            }
            #expect(rig.monitor.devices.isEmpty)
        } else {
            // QEMU died: whatever it held is gone with it.
            _ = try await clean.recover(client: nil)
        }
        #expect(rig.onOriginalDrivers)
        #expect(try clean.journal.read() == nil)
    }

    @Test func dryRunPlansListEveryStep() throws {
        let rig = try Rig()
        defer { rig.monitor.close() }
        #expect(try rig.swapper.plan(attach: 0) == [
            "check that no host process holds 0000:05:00.0, 0000:05:00.1",
            "bind 0000:05:00.0 to vfio-pci (driver_override, unbind, drivers_probe), remembering its driver",
            "bind 0000:05:00.1 to vfio-pci (driver_override, unbind, drivers_probe), remembering its driver",
            "device_add vfio-pci,host=0000:05:00.1,id=gpu0-f1,bus=rp-gpu0,addr=0.1",
            "device_add vfio-pci,host=0000:05:00.0,id=gpu0-f0,bus=rp-gpu0,addr=0.0,multifunction=on",
            "check that QEMU has gpu0-f1, gpu0-f0 (qom-list /machine/peripheral)",
        ])
        #expect(try rig.swapper.plan(detach: 0).first == "device_del gpu0-f0 (function 0: the guest releases the whole slot)")
    }

    /// `vm down` reads the definition without resolving a slot's functions: its own journal is
    /// still accepted (the functions are read from the host), and the GPU goes back.
    @Test func aJournalIsCheckedAgainstTheSlotsFunctionsOnTheHost() async throws {
        let rig = try Rig()
        defer { rig.monitor.close() }
        _ = try await rig.swapper.attach(gpu: 0, client: try await rig.client())
        var unresolved = rig.swapper.spec
        unresolved.gpus[0].functions = []
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        var swapper = GPUSwapper(spec: unresolved, journal: rig.swapper.journal, fileSystem: rig.kernel, logger: logger)
        swapper.binder = rig.swapper.binder
        _ = try await swapper.recover(client: nil)
        #expect(rig.onOriginalDrivers)
        #expect(try rig.swapper.journal.read() == nil)
    }

    /// A journal this VM's swaps could not have written (issue 17: one naming the host's display
    /// card made recover unbind it) is refused, and nothing on the host is written.
    @Test(arguments: [
        (#"{"vm":"nv","gpu":0,"phase":"returning-to-host","deviceIDs":["gpu0-f1","gpu0-f0"],"originals":[{"address":"0000:01:00.0","originalDriver":"nvidia"}]}"#,
         "it names 0000:01:00.0, which is not one of 0000:05:00.0, 0000:05:00.1"),
        (#"{"vm":"nv","gpu":0,"phase":"returning-to-host","deviceIDs":["gpu0-f1","gpu0-f0"],"originals":[{"address":"0000:05:00.0","originalDriver":"nvidia"},{"address":"0000:05:00.1","originalDriver":"snd_hda_intel"},{"address":"0000:01:00.0"}]}"#,
         "it names 0000:01:00.0, which is not one of 0000:05:00.0, 0000:05:00.1"),
        (#"{"vm":"nv","gpu":0,"phase":"returning-to-host","deviceIDs":["gpu0-f1","gpu0-f0"],"originals":[{"address":"0000:05:00.0","originalDriver":"nvidia"}]}"#,
         "it does not name 0000:05:00.1"),
        (#"{"vm":"nv","gpu":0,"phase":"returning-to-host","deviceIDs":["gpu0-f1","gpu0-f0"],"originals":[{"address":"0000:05:00.0","originalDriver":"../../../x"},{"address":"0000:05:00.1"}]}"#,
         "'../../../x' (for 0000:05:00.0) is not a driver name"),
        (#"{"vm":"other","gpu":0,"phase":"returning-to-host","deviceIDs":[],"originals":[]}"#, "it is for VM 'other', not nv"),
        (#"{"vm":"nv","gpu":2,"phase":"returning-to-host","deviceIDs":[],"originals":[]}"#, "gpu[2] is not in the definition"),
        (#"{"vm":"nv","gpu":0,"phase":"unplugging","deviceIDs":["disk0"],"originals":[]}"#, "its devices disk0 are not gpu[0]'s (gpu0-f1, gpu0-f0)"),
        (#"{"vm":"nv","gpu":0,"phase":"returning-to-host","originals":[{"address":"0000:01:00.0"}]}"#, "it is not a swap journal vm wrote"),
    ])
    func aTamperedJournalIsRefusedTouchingNothing(journal: String, reason: String) async throws {
        let rig = try Rig()
        defer { rig.monitor.close() }
        try rig.tree.file("/journal.json", journal)
        let before = try rig.tree.snapshot()
        for attempt in ["recover", "detach", "attach"] {
            do {
                switch attempt {
                case "recover": _ = try await rig.swapper.recover(client: nil)
                case "detach": _ = try await rig.swapper.detach(gpu: 0, client: try await rig.client())
                default: _ = try await rig.swapper.attach(gpu: 0, client: try await rig.client())
                }
                Issue.record("\(attempt) should have refused the journal")
            } catch HandoverError.untrustedJournal(let path, let why) {
                #expect(path == rig.tree.rootPath + "/journal.json")
                #expect(why == reason)
            }
        }
        #expect(rig.kernel.writes.isEmpty)
        #expect(try rig.tree.snapshot() == before)
        #expect(rig.monitor.log.allSatisfy { !$0.hasPrefix("device_") })
    }
}

/// `vm down` of a VM whose QEMU is gone while the journal records a GPU in the guest: the GPU
/// goes back to its host drivers, unless asked to stay on vfio-pci.
struct DownReturnsTheGPUTests {
    @Test(arguments: [false, true])
    func downReturnsTheGPUUnlessKept(keep: Bool) async throws {
        let rig = try HotSwapHostTests.Rig()
        defer { rig.monitor.close() }
        let paths = VMPaths(runtimeDirectory: rig.tree.rootPath + "/run", stateDirectory: rig.tree.rootPath + "/state")
        let machine = QEMUMachine(spec: rig.swapper.spec, paths: paths, launcher: QEMULauncher(executable: "/nonexistent"),
                                  hostFileSystem: rig.kernel, passthroughProblems: { _ in [] })
        try FileManager.default.createDirectory(atPath: paths.stateDirectory, withIntermediateDirectories: true)
        var swapper = machine.swapper()
        swapper.binder = rig.swapper.binder
        let client = try await rig.client()
        _ = try await swapper.attach(gpu: 0, client: client)
        client.close()
        #expect(rig.driver(HotSwapHostTests.display) == "vfio-pci")

        // QEMU is not running (it crashed, or the guest powered off): down finds nothing to stop.
        #expect(try await machine.down(timeout: .seconds(1), force: false, keepGPUOnVFIO: keep) == .notRunning)
        if keep {
            #expect(rig.driver(HotSwapHostTests.display) == "vfio-pci" && rig.driver(HotSwapHostTests.audio) == "vfio-pci")
            #expect(try swapper.journal.read()?.phase == .inGuest)
        } else {
            #expect(rig.onOriginalDrivers)
            #expect(try swapper.journal.read() == nil)
        }
    }
}

import Foundation
import HostLinux
import HostLinuxFakes
import Synchronization
import Testing
import VMCore

private func function(_ address: String, driver: String?, bootVGA: Bool? = nil) -> PCIDevice {
    var device = PCIDevice(address: PCIAddress(address)!, vendorID: 0x10de, deviceID: 0x2203, classCode: 0x030000)
    device.driver = driver
    device.bootVGA = bootVGA
    return device
}

private let desktopFacts = HostDisplayFacts(
    functions: [function("0000:01:00.0", driver: "nvidia", bootVGA: true), function("0000:01:00.1", driver: "snd_hda_intel")],
    displayManagerUnit: "sddm.service",
    vtConsoles: [.init(index: 0, name: "(S) dummy device", bound: false), .init(index: 1, name: "(M) frame buffer device", bound: true)],
    framebuffers: [PlatformFramebuffer(driver: "efi-framebuffer", device: "efi-framebuffer.0")],
    loadedModules: ["nvidia", "nvidia_drm", "nvidia_modeset"])

@Test func releasePlanFollowsWhatTheHostHas() {
    var options = HostReleaseOptions()
    options.unloadNVIDIA = true
    let plan = HostReleasePlan.make(facts: desktopFacts, options: options)
    let nvidia = FunctionBinding(address: PCIAddress("0000:01:00.0")!, originalDriver: "nvidia", originalOverride: nil)
    let audio = FunctionBinding(address: PCIAddress("0000:01:00.1")!, originalDriver: "snd_hda_intel", originalOverride: nil)
    #expect(plan.steps == [.stopDisplayManager(.unit("sddm.service")), .awaitHolders(seconds: 10), .unbindVTConsole(1),
                           .unbindFramebuffer(driver: "efi-framebuffer", device: "efi-framebuffer.0"),
                           .unloadModule("nvidia_drm"), .unloadModule("nvidia_modeset"), .unloadModule("nvidia"),
                           .bindToVFIO(nvidia), .bindToVFIO(audio)])
    #expect(plan.lines.first == "1. stop the desktop: systemctl stop sddm.service")
    #expect(plan.lines.last == "when the VM ends: give 0000:01:00.1 back to snd_hda_intel; give 0000:01:00.0 back to nvidia; load nvidia again (modprobe nvidia); "
        + "load nvidia_modeset again (modprobe nvidia_modeset); load nvidia_drm again (modprobe nvidia_drm); bind efi-framebuffer.0 to efi-framebuffer again; "
        + "bind virtual console vtcon1 again; start the desktop: systemctl start sddm.service")
}

@Test func releasePlanLeavesOutWhatIsNotThere() {
    var facts = desktopFacts
    facts.functions = [function("0000:01:00.0", driver: "vfio-pci", bootVGA: false)]
    facts.vtConsoles = [.init(index: 0, name: "(S) dummy device", bound: true)]
    var options = HostReleaseOptions()
    options.displayManager = .none
    options.holderTimeout = .milliseconds(500)
    // Not the boot display: the firmware framebuffer is another card's; modules stay unless asked.
    #expect(HostReleasePlan.make(facts: facts, options: options).steps == [.awaitHolders(seconds: 0.5)])
    options.displayManager = .commands(stop: ["/opt/desk", "stop"], start: ["/opt/desk", "start"])
    facts.displayManagerUnit = nil
    #expect(HostReleasePlan.make(facts: facts, options: options).steps.first == .stopDisplayManager(.commands(stop: ["/opt/desk", "stop"], start: ["/opt/desk", "start"])))
    options.displayManager = .detect
    #expect(HostReleasePlan.make(facts: facts, options: options).steps.first == .awaitHolders(seconds: 0.5))
}

@Test func readerSeesTheFakeDesktop() throws {
    let host = try SingleGPUDesktop()
    let facts = try host.facts()
    #expect(facts.displayManagerUnit == "gdm3.service")
    #expect(facts.vtConsoles == [.init(index: 0, name: "(S) dummy device", bound: false), .init(index: 1, name: "(M) frame buffer device", bound: true)])
    #expect(facts.framebuffers == [PlatformFramebuffer(driver: "efi-framebuffer", device: "efi-framebuffer.0")])
    #expect(facts.loadedModules == Set(HostReleasePlan.nvidiaModules))
    #expect(facts.isBootDisplay)
    #expect(facts.functions.map(\.driver) == ["nvidia", "snd_hda_intel"])
}

private func options(unloadNVIDIA: Bool = true, timeout: Duration = .milliseconds(300)) -> HostReleaseOptions {
    var options = HostReleaseOptions()
    options.unloadNVIDIA = unloadNVIDIA
    options.holderTimeout = timeout
    return options
}

/// Collects what the releaser journals.
private final class JournalBox: Sendable {
    let steps = Mutex<[ReleaseStep]>([])
    let writes = Mutex(0)
    func write(_ begun: [ReleaseStep]) {
        steps.withLock { $0 = begun }
        writes.withLock { $0 += 1 }
    }
}

@Test func releaseAndRestoreGiveTheDesktopBack() async throws {
    let host = try SingleGPUDesktop()
    let before = try host.facts()
    let plan = HostReleasePlan.make(facts: before, options: options())
    let releaser = HostReleaser(vm: "solo", fileSystem: host.kernel, runner: host.runner)
    let journal = JournalBox()
    try await releaser.release(plan, slot: SingleGPUDesktop.slot, force: false) { journal.write($0) }

    let released = try host.facts()
    #expect(released.functions.map(\.driver) == ["vfio-pci", "vfio-pci"])
    #expect(released.vtConsoles[1].bound == false)
    #expect(released.framebuffers.isEmpty)
    #expect(released.loadedModules.isEmpty)
    #expect(!host.desktopRuns)
    #expect(journal.steps.withLock { $0 } == plan.steps)
    #expect(journal.writes.withLock { $0 } == plan.steps.count)
    #expect(host.runner.commands == [["systemctl", "stop", "gdm3.service"], ["modprobe", "-r", "nvidia_drm"], ["modprobe", "-r", "nvidia_modeset"],
                                     ["modprobe", "-r", "nvidia_uvm"], ["modprobe", "-r", "nvidia"]])

    #expect(releaser.restore(plan.steps).isEmpty)
    #expect(try host.facts() == before)
    #expect(host.desktopRuns)
    #expect(host.runner.commands.suffix(5) == [["modprobe", "nvidia"], ["modprobe", "nvidia_uvm"], ["modprobe", "nvidia_modeset"],
                                               ["modprobe", "nvidia_drm"], ["systemctl", "start", "gdm3.service"]])
}

@Test func aHolderThatStaysIsNamedAndNothingChanges() async throws {
    let host = try SingleGPUDesktop(stubborn: [(1400, "steam", ["/dev/nvidia0"])])
    let before = try host.facts()
    let releaser = HostReleaser(vm: "solo", fileSystem: host.kernel, runner: host.runner)
    let journal = JournalBox()
    let started = ContinuousClock.now
    await #expect(throws: ReleaseError.held([DeviceHolder(pid: 1400, command: "steam", deviceNode: "/dev/nvidia0")], seconds: 0.3, forced: false)) {
        try await releaser.release(.make(facts: before, options: options()), slot: SingleGPUDesktop.slot, force: false) { journal.write($0) }
    }
    #expect(ContinuousClock.now - started >= .milliseconds(300))
    #expect(try host.facts() == before)
    #expect(host.desktopRuns)
    #expect(host.runner.commands == [["systemctl", "stop", "gdm3.service"], ["systemctl", "start", "gdm3.service"]])
    #expect(journal.steps.withLock { $0 }.isEmpty)
    let message = ReleaseError.held([DeviceHolder(pid: 1400, command: "steam", deviceNode: "/dev/nvidia0")], seconds: 10, forced: false).description
    #expect(message.contains("steam (pid 1400, /dev/nvidia0)") && message.contains("--force"))
}

@Test func forceEndsTheHolderThenReleases() async throws {
    let host = try SingleGPUDesktop(stubborn: [(1400, "steam", ["/dev/nvidia0"])])
    let releaser = HostReleaser(vm: "solo", fileSystem: host.kernel, runner: host.runner)
    try await releaser.release(.make(facts: try host.facts(), options: options(unloadNVIDIA: false)), slot: SingleGPUDesktop.slot, force: true) { _ in }
    #expect(host.runner.commands.prefix(3) == [["systemctl", "stop", "gdm3.service"], ["kill", "-TERM", "1400"], ["kill", "-KILL", "1400"]])
    #expect(try host.facts().functions.map(\.driver) == ["vfio-pci", "vfio-pci"])
}

@Test func anUnkillableHolderIsRefusedEvenWithForce() async throws {
    let host = try SingleGPUDesktop(stubborn: [(1400, "steam", ["/dev/nvidia0"])], unkillable: true)
    let before = try host.facts()
    let releaser = HostReleaser(vm: "solo", fileSystem: host.kernel, runner: host.runner)
    await #expect(throws: ReleaseError.held([DeviceHolder(pid: 1400, command: "steam", deviceNode: "/dev/nvidia0")], seconds: 0.3, forced: true)) {
        try await releaser.release(.make(facts: before, options: options()), slot: SingleGPUDesktop.slot, force: true) { _ in }
    }
    #expect(try host.facts() == before)
}

@Test func aFailedStepPutsTheHostBack() async throws {
    let host = try SingleGPUDesktop()
    let before = try host.facts()
    try host.tree.remove("/sys/bus/pci/drivers/vfio-pci")
    let releaser = HostReleaser(vm: "solo", fileSystem: host.kernel, runner: host.runner)
    do {
        try await releaser.release(.make(facts: before, options: options()), slot: SingleGPUDesktop.slot, force: false) { _ in }
        Issue.record("the release went through without vfio-pci")
    } catch let ReleaseError.stepFailed(step, reason, rolledBack, vm) {
        #expect(vm == "solo")
        #expect(step == "bind 0000:01:00.0 to vfio-pci (it is on nvidia)")
        #expect(reason.contains("modprobe vfio-pci"))
        #expect(rolledBack)
    }
    #expect(try host.facts() == before)
    #expect(host.desktopRuns)
}

@Test func aCrashAtAnyStepIsUndoneFromTheJournal() async throws {
    let steps = HostReleasePlan.make(facts: try SingleGPUDesktop().facts(), options: options()).steps.count
    for crashAt in 1...steps {
        let host = try SingleGPUDesktop()
        let before = try host.facts()
        let releaser = HostReleaser(vm: "solo", fileSystem: host.kernel, runner: host.runner)
        let journal = JournalBox()
        await #expect(throws: ReleaseInterrupted.self) {
            try await releaser.release(.make(facts: before, options: options()), slot: SingleGPUDesktop.slot, force: false) { begun in
                journal.write(begun)
                if begun.count == crashAt { throw ReleaseInterrupted() }
            }
        }
        // A new process (vm gpu recover) has only the journal.
        let recorded = journal.steps.withLock { $0 }
        #expect(recorded.count == crashAt)
        let failures = HostReleaser(vm: "solo", fileSystem: host.kernel, runner: host.runner).restore(recorded)
        #expect(failures.isEmpty, "crash before step \(crashAt): \(failures)")
        #expect(try host.facts() == before, "crash before step \(crashAt)")
        #expect(host.desktopRuns)
    }
}

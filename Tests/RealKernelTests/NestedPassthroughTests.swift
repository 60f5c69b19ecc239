import Foundation
import Testing

/// The whole GPU hand-over for real: the full-kernel test-bed guest is the GPU host and runs the real `vm` binary and
/// QEMU; the second-level guest gets two stand-in pairs through the first-level kernel's vfio-pci, one plugged at boot
/// (bochs-display + ich9-intel-hda) and one hot (secondary-vga + ES1370). One run (NestedHost) serves every case; the
/// cases judge what the second-level guest and the first-level sysfs showed, not what `vm` said.
/// See docs/real-kernel.md, "Nested passthrough".
@Suite("Nested passthrough: vm passes stand-in pairs through the test-bed guest's VFIO", .serialized,
       .timeLimit(.minutes(60)))
struct NestedPassthroughTests {
    let bootPair = NestedHost.bootPair
    let hotPair = NestedHost.hotPair

    @Test("boot-plugged: vm host bind, vm up -> the guest lists both functions behind a root port; vm down is polite; back to the host drivers")
    func bootPlugged() async throws {
        let transcript = try await completedRun().transcript
        #expect(transcript.drivers("boot/before") == bootPair.fullKernelDrivers.map(Optional.some))
        try transcript.requireSucceeded("boot/bind")
        #expect(transcript.drivers("boot/bind") == ["vfio-pci", "vfio-pci"])
        try transcript.requireSucceeded("boot/up")
        try transcript.requireSucceeded("boot/l2-ready")
        let atBoot = SecondLevelReport(transcript.standardOutput("boot/l2-ready")).bootList
        let functions = try passedThrough(bootPair, atBoot)
        #expect(functions.allSatisfy { $0.bus != "00" }, "the pair is not behind a root port: \(functions)")
        #expect(atBoot.contains { $0.pciClass.hasPrefix("0x0604") && $0.bus == "00" }, "no PCI bridge on bus 0: \(atBoot)")
        #expect(!atBoot.contains { $0.id == hotPair.ids[1] }, "the hot pair was there at boot: \(atBoot)")
        try transcript.requireSucceeded("boot/status")
        let status = try JSONSerialization.jsonObject(with: Data(transcript.standardOutput("boot/status").utf8)) as? [String: Any]
        #expect(status?["passthroughInGuest"] as? [String] == ["gpu0-f0", "gpu0-f1"],
                "vm status --json does not show the boot pair's functions in the guest: \(transcript.standardOutput("boot/status"))")
        try transcript.requireSucceeded("boot/down")
        #expect(SecondLevelReport(transcript.standardOutput("boot/l2-down")).poweredOffByButton,
                "the second-level guest did not power off through its ACPI button")
        try transcript.requireSucceeded("boot/host")
        #expect(transcript.drivers("boot/host") == bootPair.fullKernelDrivers.map(Optional.some))
        #expect(transcript.functions("boot/host").allSatisfy { $0.override == "(null)" })
        #expect(transcript.vfioNode("boot/host")?.present == false)
        #expect(transcript.standardOutput("boot/before-card").hasPrefix("/dev/dri/card"), "no DRM card before")
        #expect(transcript.standardOutput("boot/host-card").hasPrefix("/dev/dri/card"), "the DRM card did not come back")
    }

    @Test("hot: vm gpu attach / detach, twice: host drivers -> vfio-pci -> into the running guest -> out -> back")
    func hot() async throws {
        let transcript = try await completedRun().transcript
        #expect(transcript.drivers("hot/before") == hotPair.fullKernelDrivers.map(Optional.some))
        #expect(transcript.standardOutput("hot/before-card").hasPrefix("/dev/dri/card"), "no DRM card before")
        for cycle in 1...NestedHost.cycles {
            let step = "hot/\(cycle)"
            try transcript.requireSucceeded("\(step)/attach")
            #expect(transcript.drivers("\(step)/attach") == ["vfio-pci", "vfio-pci"], "cycle \(cycle)")
            try transcript.requireSucceeded("\(step)/l2-add")
            let added = try passedThrough(hotPair, SecondLevelReport(transcript.standardOutput("\(step)/l2-add")).added)
            try transcript.requireSucceeded("\(step)/detach")
            #expect(transcript.drivers("\(step)/detach") == hotPair.fullKernelDrivers.map(Optional.some), "cycle \(cycle)")
            #expect(transcript.functions("\(step)/detach").allSatisfy { $0.override == "(null)" }, "cycle \(cycle)")
            #expect(transcript.standardOutput("\(step)/detach-card").hasPrefix("/dev/dri/card"), "cycle \(cycle): no DRM card back")
            try transcript.requireSucceeded("\(step)/l2-remove")
            let removed = SecondLevelReport(transcript.standardOutput("\(step)/l2-remove")).removed
            #expect(Set(removed) == Set(added.map(\.address)), "cycle \(cycle): added \(added), removed \(removed)")
        }
    }

    @Test("refusals: vm gpu attach while a process holds /dev/dri/cardN or the sound control node names the pid, changes nothing")
    func refusals() async throws {
        let transcript = try await completedRun().transcript
        let refusal = HolderRefusal(transcript: transcript)
        for (kind, prefix) in [("held-drm", "/dev/dri/card"), ("held-snd", "/dev/snd/controlC")] {
            try refusal.check("hot/\(kind)", nodePrefix: prefix, drivers: hotPair.fullKernelDrivers, command: "vm gpu attach")
        }
        // The first attach's wait starts before the refusals: the guest saw exactly that attach's two arrivals.
        #expect(SecondLevelReport(transcript.standardOutput("hot/1/l2-add")).added.count == 2)
    }

    @Test("ROM: the display function's own ROM read through sysfs, given as rom = FILE: the guest sees a ROM BAR")
    func rom() async throws {
        let transcript = try await completedRun().transcript
        try transcript.requireSucceeded("rom/dump")
        let dump = transcript.standardOutput("rom/dump").split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let size = try #require(dump.first.flatMap { Int($0) }, "no size in the dump report: \(dump)")
        #expect(size > 0 && size % 512 == 0, "the ROM read through sysfs: \(size) bytes")
        #expect(dump.last?.hasPrefix("55 aa") == true, "no ROM signature: \(dump)")
        let argv = transcript.standardOutput("boot/qemu-argv")
        #expect(argv.contains("romfile=/root/gpu.rom"), "the running QEMU was not given the ROM file: \(argv)")
        let guest = SecondLevelReport(transcript.standardOutput("boot/l2-ready"))
        let display = try passedThrough(bootPair, guest.bootList)[0]
        #expect(guest.withROM.contains(display.address), "no ROM BAR on \(display.address): \(guest.withROM)")
    }

    @Test("the guest ends by itself with the hot pair in it: with no vm command, the supervisor gives both functions back")
    func guestEndsByItself() async throws {
        let transcript = try await completedRun().transcript
        try transcript.requireSucceeded("self/up")
        try transcript.requireSucceeded("self/l2-ready")
        try transcript.requireSucceeded("self/attach")
        #expect(transcript.drivers("self/attach") == ["vfio-pci", "vfio-pci"])
        try transcript.requireSucceeded("self/l2-off")
        #expect(transcript.exitStatus("self/returned") == 0, "the pair was not given back within 120 s")
        #expect(transcript.drivers("self/returned") == hotPair.fullKernelDrivers.map(Optional.some))
        #expect(transcript.functions("self/returned").allSatisfy { $0.override == "(null)" })
        #expect(transcript.standardOutput("self/returned-card").hasPrefix("/dev/dri/card"), "no DRM card back")
    }

    /// The shared run, required to have reached its end (the first-level script printed RK-DONE).
    private func completedRun() async throws -> ScriptedGuest.Run {
        let run = try await NestedHost.run()
        try #require(run.transcript.unpackFailures.isEmpty, "initramfs: \(run.transcript.unpackFailures)")
        try #require(run.transcript.done, "the first-level script did not finish; serial log:\n\(run.serialTail)")
        return run
    }

    /// `pair` as the second-level guest shows it among `functions`: its display and audio function, with their ids and
    /// classes, as functions 0 and 1 of one slot.
    private func passedThrough(_ pair: StandInPair, _ functions: [SecondLevelReport.Function]) throws -> [SecondLevelReport.Function] {
        let display = try #require(functions.first { $0.id == pair.ids[0] && $0.pciClass.hasPrefix(pair.classes[0]) },
                                   "no \(pair.ids[0]) (\(pair.classes[0])) in \(functions)")
        let audio = try #require(functions.first { $0.id == pair.ids[1] && $0.pciClass.hasPrefix(pair.classes[1]) },
                                 "no \(pair.ids[1]) (\(pair.classes[1])) in \(functions)")
        #expect(display.address.hasSuffix(".0") && audio.address.hasSuffix(".1") && display.slot == audio.slot,
                "not one slot: \(display.address), \(audio.address)")
        return [display, audio]
    }
}

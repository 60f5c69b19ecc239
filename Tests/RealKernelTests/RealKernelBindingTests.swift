import Foundation
import HostLinux
import Testing

/// `vm gpu list` and `vm host bind` against a real Linux kernel: the test-bed guest (docs/testbed.md) booted under
/// TCG with a virtual Intel IOMMU runs the real `vm` binary on its own sysfs (never this machine's /sys).
/// One boot per test; serialized, since each boot keeps a core busy for a while. See docs/real-kernel.md.
@Suite("Real kernel: vm host bind and vm gpu list in the test-bed guest", .serialized, .timeLimit(.minutes(20)))
struct RealKernelBindingTests {
    static let pairs = [StandInPair.bochsHDA, StandInPair.secondaryVGAES1370]
    static let cycles = 2

    @Test("cloud kernel: driverless stand-in pairs -> vfio-pci (/dev/vfio/N) -> no driver, twice")
    func cloudKernelRoundTrip() async throws {
        let scratch = try ScratchDirectory()
        let bed = try await TestBed.prepare(full: false, scratch: scratch)
        let run = try await Self.guest(image: bed.cloud, baseCmdline: bed.cmdline, holderCheck: false).run()
        report("cloud kernel", run)
        let expectations = BindingExpectations(run: run, cycles: Self.cycles)
        try expectations.checkCompleted()
        var groups: [Int] = []
        for pair in Self.pairs {
            groups.append(try expectations.check(pair, originalDrivers: [nil, nil]))
        }
        #expect(Set(groups).count == groups.count, "each pair in its own IOMMU group: \(groups)")
    }

    @Test("full kernel: bochs-drm + snd_hda_intel / snd_ens1370 -> vfio-pci -> back, refused while a process holds the card")
    func fullKernelRoundTrip() async throws {
        let scratch = try ScratchDirectory()
        let bed = try await TestBed.prepare(full: true, scratch: scratch)
        let image = try #require(bed.full)
        let run = try await Self.guest(image: image, baseCmdline: bed.cmdline, holderCheck: true).run()
        report("full kernel", run)
        let expectations = BindingExpectations(run: run, cycles: Self.cycles)
        try expectations.checkCompleted()
        var groups: [Int] = []
        for pair in Self.pairs {
            try checkHolderRefusals(run.transcript, pair: pair)
            groups.append(try expectations.check(pair, originalDrivers: pair.fullKernelDrivers))
        }
        #expect(Set(groups).count == groups.count, "each pair in its own IOMMU group: \(groups)")
    }

    /// Guest/bind-cycle.sh over both pairs, `cycles` times, with the holder checks first when asked.
    private static func guest(image: TestBed.Image, baseCmdline: String, holderCheck: Bool) -> ScriptedGuest {
        ScriptedGuest(image: image, baseCmdline: baseCmdline, pairs: pairs, script: "bind-cycle.sh",
                      scriptParameters: ["rktest.slots=" + pairs.map(\.slot).joined(separator: ","), "rktest.cycles=\(cycles)",
                                         "rktest.holder=\(holderCheck ? 1 : 0)"])
    }

    /// With the display's `/dev/dri/cardN`, then the audio function's `/dev/snd/controlCN`, held open by a process,
    /// `vm host bind SLOT vfio-pci` exits non-zero, names the holder (pid, program, node), and leaves both
    /// functions on their host drivers.
    private func checkHolderRefusals(_ transcript: GuestTranscript, pair: StandInPair) throws {
        let refusal = HolderRefusal(transcript: transcript)
        for (kind, prefix) in [("held-drm", "/dev/dri/card"), ("held-snd", "/dev/snd/controlC")] {
            try refusal.check("\(pair.slot)/\(kind)", nodePrefix: prefix, drivers: pair.fullKernelDrivers,
                              command: "vm host bind")
        }
    }

    /// Prints the measured times (docs/real-kernel.md quotes them): host-side preparation, the whole QEMU run, and
    /// each kind of `vm` step in guest time (TCG: many times slower than a real host).
    private func report(_ label: String, _ run: ScriptedGuest.Run) {
        let transcript = run.transcript
        let slots = Self.pairs.map(\.slot)
        func steps(_ suffix: String) -> [String] { slots.flatMap { slot in (1...Self.cycles).map { "\(slot)/\($0)/\(suffix)" } } }
        func range(_ name: String, _ steps: [String]) -> String {
            let values = steps.compactMap(transcript.seconds)
            guard let low = values.min(), let high = values.max() else { return "\(name): -" }
            return "\(name): " + String(format: "%.2f-%.2f s", low, high)
        }
        let parts = [
            range("gpu list", ["list-before", "list-after"] + steps("list")),
            range("bind vfio-pci", steps("vfio")),
            range("bind host", steps("host")),
            range("refused (holder)", slots.flatMap { ["\($0)/held-drm", "\($0)/held-snd"] }),
        ]
        print("real kernel (\(label)): initramfs " + String(format: "%.1f s", run.preparation.seconds)
              + ", QEMU " + String(format: "%.1f s", run.duration.seconds) + "; in the guest: " + parts.joined(separator: ", "))
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

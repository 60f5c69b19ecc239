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
        let run = try await BindingGuest(image: bed.cloud, baseCmdline: bed.cmdline, pairs: Self.pairs,
                                         cycles: Self.cycles, holderCheck: false).run()
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
        let run = try await BindingGuest(image: image, baseCmdline: bed.cmdline, pairs: Self.pairs,
                                         cycles: Self.cycles, holderCheck: true).run()
        report("full kernel", run)
        let expectations = BindingExpectations(run: run, cycles: Self.cycles)
        try expectations.checkCompleted()
        var groups: [Int] = []
        for pair in Self.pairs {
            try checkHolderRefusal(run.transcript, pair: pair)
            groups.append(try expectations.check(pair, originalDrivers: pair.fullKernelDrivers))
        }
        #expect(Set(groups).count == groups.count, "each pair in its own IOMMU group: \(groups)")
    }

    /// With `/dev/dri/cardN` held open, `vm host bind SLOT vfio-pci` exits non-zero, names the holder's pid, and
    /// leaves both functions on their host drivers.
    private func checkHolderRefusal(_ transcript: GuestTranscript, pair: StandInPair) throws {
        let reported = try #require(transcript.holder(pair.slot), "no RK-HOLDER line for \(pair.slot)")
        let holder = try #require(reported, "\(pair.display) at \(pair.slot) has no DRM card node in the guest")
        #expect(holder.node.hasPrefix("/dev/dri/card"))
        let status = try #require(transcript.exitStatus("\(pair.slot)/held"))
        #expect(status != 0, "vm host bind went ahead although pid \(holder.pid) holds \(holder.node)")
        let message = transcript.standardError("\(pair.slot)/held")
        #expect(message.contains("processes hold the card"), "stderr: \(message)")
        #expect(message.contains("\(holder.pid) \(holder.command) (\(holder.node))"), "stderr: \(message)")
        #expect(transcript.drivers("\(pair.slot)/held") == pair.fullKernelDrivers)
    }

    private func report(_ label: String, _ run: BindingGuest.Run) {
        print("real kernel (\(label)): initramfs ready in \(run.preparation), QEMU ran \(run.duration)")
    }
}

import Foundation

/// The nested-passthrough bed (docs/real-kernel.md, "Nested passthrough"): the full-kernel test-bed guest as the GPU
/// host, with QEMU and the second-level guest (cloud kernel + test-bed initrd) in its initramfs
/// (`scripts/testbed nested-overlay`), two stand-in pairs, running Guest/nested-passthrough.sh. One first-level boot
/// and one second-level boot (the slow part) serve every case of NestedPassthroughTests.
enum NestedHost {
    /// The pair plugged at boot (bochs-drm + snd_hda_intel in the first level). QEMU gives `bochs-display` an expansion
    /// ROM (SeaBIOS' `vgabios-bochs-display.bin`), which the ROM case reads through sysfs.
    static let bootPair = StandInPair.bochsHDA
    /// The pair plugged hot (bochs-drm + snd_ens1370): the pair issue 16's hot case was checked with by hand.
    static let hotPair = StandInPair.secondaryVGAES1370
    /// Hot attach/detach cycles.
    static let cycles = 2

    /// The one run, started by the first caller and shared by every later one.
    static func run() async throws -> ScriptedGuest.Run {
        try await shared.value()
    }

    private static let shared = SharedAttempt { try await boot() }

    private static func boot() async throws -> ScriptedGuest.Run {
        let scratch = try ScratchDirectory()
        let bed = try await TestBed.prepare(full: true, scratch: scratch)
        guard let image = bed.full else { throw TestBedError("scripts/testbed prepare --full gave no full-kernel image") }
        let guest = ScriptedGuest(
            image: image, baseCmdline: bed.cmdline, pairs: [bootPair, hotPair], script: "nested-passthrough.sh",
            scriptParameters: ["nptest.boot=\(bootPair.slot)", "nptest.hot=\(hotPair.slot)", "nptest.cycles=\(cycles)",
                               "nptest.selfoff=1"],
            extraOverlays: { scratch in
                let overlay = scratch.file("nested.cpio")
                _ = try await TestCommand.runChecked(Repository.path("scripts/testbed"), ["nested-overlay", overlay],
                                                      name: "nested-overlay", outputDirectory: scratch.path,
                                                      timeout: .seconds(900))
                return [overlay]
            },
            // The initramfs (~280 MB unpacked) + QEMU + its 256 MiB guest.
            memoryMiB: 2048,
            // The second-level boot takes ~165 s under nested TCG on an idle machine, many times that on a busy one.
            timeout: .seconds(2700))
        let run = try await guest.run()
        report(run)
        return run
    }

    /// Prints the measured times once (docs/real-kernel.md quotes them): host-side preparation, the first-level QEMU
    /// run, and each step in first-level guest time (the l2 steps: waiting for the second-level guest).
    private static func report(_ run: ScriptedGuest.Run) {
        let steps = ["boot/bind", "boot/up", "boot/l2-ready", "boot/status", "hot/held-drm", "hot/held-snd"]
            + (1...cycles).flatMap { cycle in ["attach", "l2-add", "detach", "l2-remove"].map { "hot/\(cycle)/\($0)" } }
            + ["boot/down", "boot/host", "self/up", "self/l2-ready", "self/attach", "self/l2-off", "self/returned"]
        let parts = steps.map { step in
            run.transcript.seconds(step).map { "\(step) " + String(format: "%.1f s", $0) } ?? "\(step) -"
        }
        print("nested passthrough: initramfs " + String(format: "%.1f s", run.preparation.seconds)
              + ", first-level QEMU " + String(format: "%.1f s", run.duration.seconds) + "; in the first level: "
              + parts.joined(separator: ", "))
    }
}

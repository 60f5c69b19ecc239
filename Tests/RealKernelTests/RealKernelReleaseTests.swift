import Foundation
import Testing

/// `[[gpu]] host = "release"` against a real kernel: in the test-bed guest (full kernel) the stand-in pair at 00:03
/// runs bochs-drm with the framebuffer console on it, and a stand-in display manager holds its DRM node. `vm up`
/// takes it from the host (desktop stopped, vtconsole unbound, /dev/fb0 gone, vfio-pci bound, /dev/vfio/N) and gives
/// it back: at once when QEMU fails, through `vm gpu recover` after `kill -9` of vm, its supervisor and QEMU, on
/// `vm down` of a real QEMU holding the pair through vfio-pci, and by the supervisor when that QEMU ends by itself.
/// See Guest/release-cycle.sh and docs/real-kernel.md.
@Suite("Real kernel: host = \"release\" in the test-bed guest", .serialized, .timeLimit(.minutes(20)))
struct RealKernelReleaseTests {
    @Test("bochs-drm with fbcon: released to vfio-pci and given back: failed start, kill -9 + vm gpu recover, vm down, QEMU ending by itself")
    func releaseAndGiveBack() async throws {
        let scratch = try ScratchDirectory()
        let bed = try await TestBed.prepare(full: true, scratch: scratch)
        let image = try #require(bed.full)
        let pair = StandInPair.bochsHDA
        let run = try await ScriptedGuest(
            image: image, baseCmdline: bed.cmdline, pairs: [pair], script: "release-cycle.sh", scriptParameters: [],
            extraOverlays: { scratch in
                // A real QEMU for the down/ and ended/ phases (the nested bed's overlay).
                let overlay = scratch.file("nested.cpio")
                _ = try await TestCommand.runChecked(Repository.path("scripts/testbed"), ["nested-overlay", overlay],
                                                      name: "nested-overlay", outputDirectory: scratch.path, timeout: .seconds(900))
                return [overlay]
            },
            memoryMiB: 2048, timeout: .seconds(1500)).run()
        let transcript = run.transcript
        let serial = run.serial
        try #require(transcript.done, "the guest script did not finish:\n\(run.serialTail)")
        print("real kernel (release): QEMU " + String(format: "%.1f s", run.duration.seconds) + "; in the guest: vm up (release, failed start, give back) "
              + String(format: "%.2f s", transcript.seconds("up/run") ?? -1) + ", vm gpu recover " + String(format: "%.2f s", transcript.seconds("crash/recover") ?? -1))

        func lines(_ step: String, _ kind: String) -> [String] {
            // A serial console ends lines with CR LF, which Swift reads as one Character.
            serial.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                .filter { $0.hasPrefix("\(kind) \(step) ") }
        }
        /// The vtconsoles drawing on a framebuffer, and whether each is bound.
        func framebufferConsoles(_ step: String) -> [String] {
            lines(step, "RK-VT").filter { $0.hasSuffix("fb=1") }.map { $0.split(separator: " ")[2...3].joined(separator: " ") }
        }

        let home = pair.fullKernelDrivers
        #expect(transcript.drivers("before") == home, "\(run.serialTail)")
        let consoles = framebufferConsoles("before")
        #expect(!consoles.isEmpty && consoles.allSatisfy { $0.hasSuffix("bind=1") }, "fbcon on the card: \(consoles)")
        #expect(lines("before", "RK-FB") == ["RK-FB before fb0=char"])
        #expect(lines("before", "RK-DESK") == ["RK-DESK before running"])
        #expect(transcript.exitStatus("plan") == 0 && transcript.standardOutput("plan").contains("unbind virtual console"),
                "\(transcript.standardOutput("plan"))\(transcript.standardError("plan"))")

        for step in ["down/up", "ended/up"] { try transcript.requireSucceeded(step) }
        #expect(transcript.exitStatus("down/down") == 3, "vm down --force (QMP quit: exit 3): \(transcript.standardError("down/down"))")
        for (released, after) in [("up/released", "up/after"), ("crash/released", "crash/after"), ("down/released", "down/after"),
                                  ("ended/released", "ended/after")] {
            #expect(transcript.drivers(released) == ["vfio-pci", "vfio-pci"], "\(released): \(run.serialTail)")
            #expect(transcript.vfioNode(released)?.present == true, "\(released): /dev/vfio/N")
            #expect(framebufferConsoles(released).allSatisfy { $0.hasSuffix("bind=0") }, "\(released): \(framebufferConsoles(released))")
            #expect(lines(released, "RK-FB") == ["RK-FB \(released) fb0=absent"])
            #expect(lines(released, "RK-DESK") == ["RK-DESK \(released) stopped"])
            // The crash case runs without the stand-in desktop (see Guest/release-cycle.sh).
            let desktop = released.hasPrefix("crash/") ? "stopped" : "running"

            #expect(transcript.drivers(after) == home, "\(after): \(run.serialTail)")
            #expect(transcript.vfioNode(after)?.present == false)
            #expect(framebufferConsoles(after) == consoles, "\(after): the console is on the framebuffer again")
            #expect(lines(after, "RK-FB") == ["RK-FB \(after) fb0=char"])
            #expect(lines(after, "RK-DESK") == ["RK-DESK \(after) \(desktop)"])
        }
        #expect(transcript.exitStatus("up/run") != 0, "the stand-in QEMU fails")
        #expect(transcript.standardError("up/run").contains("QEMU"), "vm up reports the failed start: \(transcript.standardError("up/run"))")
        #expect(!transcript.standardError("up/run").contains("left steps undone"), "\(transcript.standardError("up/run"))")
        #expect(transcript.drivers("crash/killed") == ["vfio-pci", "vfio-pci"], "nothing gave the GPU back before vm gpu recover; vm up said:\n\(transcript.standardOutput("crash/up"))\nprocesses:\n\(transcript.standardOutput("crash/ps"))")
        #expect(transcript.exitStatus("crash/recover") == 0, "\(transcript.standardOutput("crash/recover"))\(transcript.standardError("crash/recover"))")
        #expect(transcript.standardOutput("crash/recover").contains("bind virtual console"), "\(transcript.standardOutput("crash/recover"))")
    }
}
